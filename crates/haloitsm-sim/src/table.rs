//! An id-ordered table whose filtered offset pages cost O(log n + page), never O(tenant).
//!
//! Halo pages by offset (`page_no`, `page_size`) over a filtered view (disabled agents hidden
//! unless asked for, and so on). Skipping `offset` rows one by one would make page 1000 of a
//! 100k tenant a full scan, so each row carries a small *class* (e.g. disabled / API-only bits)
//! and a Fenwick tree counts rows per class by position. Finding the first row of a page is a
//! single descent of the tree for the set of classes the filter admits.
//!
//! Ids only ever grow (new rows are appended); deleted rows leave a tombstone so positions stay
//! stable, which also reproduces what a real offset-paged API does when rows vanish mid-sync.

/// Number of row classes (two independent flag bits).
pub(crate) const CLASSES: usize = 4;

/// Set of admitted classes: bit `c` admits class `c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClassMask(u8);

impl ClassMask {
    /// Admits class `c` when `admit(c)` holds.
    pub(crate) fn from_fn(admit: impl Fn(u8) -> bool) -> Self {
        let mut bits = 0;
        for c in 0..CLASSES as u8 {
            if admit(c) {
                bits |= 1 << c;
            }
        }
        Self(bits)
    }

    fn admits(self, class: u8) -> bool {
        self.0 & (1 << class) != 0
    }

    fn sum(self, counts: &[u32; CLASSES]) -> u32 {
        (0..CLASSES)
            .filter(|c| self.admits(*c as u8))
            .map(|c| counts[c])
            .sum()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("id {id} is not greater than the last id {last}")]
pub(crate) struct IdOrderError {
    id: i64,
    last: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct PagedTable<T> {
    ids: Vec<i64>,
    rows: Vec<Option<T>>,
    classes: Vec<u8>,
    /// Fenwick tree, 1-based: `tree[i]` counts live rows per class over positions
    /// `(i - lowbit(i), i]`. `tree[0]` is unused.
    tree: Vec<[u32; CLASSES]>,
    counts: [u32; CLASSES],
}

impl<T> Default for PagedTable<T> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl<T> PagedTable<T> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut tree = Vec::with_capacity(n + 1);
        tree.push([0; CLASSES]);
        Self {
            ids: Vec::with_capacity(n),
            rows: Vec::with_capacity(n),
            classes: Vec::with_capacity(n),
            tree,
            counts: [0; CLASSES],
        }
    }

    /// Appends a row; `id` must exceed every id ever pushed.
    pub(crate) fn push(&mut self, id: i64, class: u8, row: T) -> Result<(), IdOrderError> {
        if let Some(&last) = self.ids.last()
            && id <= last
        {
            return Err(IdOrderError { id, last });
        }
        let class = class % CLASSES as u8;
        let i = self.ids.len() + 1;
        // The new node covers (i - lowbit(i), i]: its own row plus positions already present.
        let mut node = self.prefix(i - 1);
        let before = self.prefix(i - lowbit(i));
        for c in 0..CLASSES {
            node[c] -= before[c];
        }
        node[class as usize] += 1;
        self.tree.push(node);
        self.ids.push(id);
        self.rows.push(Some(row));
        self.classes.push(class);
        self.counts[class as usize] += 1;
        Ok(())
    }

    fn prefix(&self, mut i: usize) -> [u32; CLASSES] {
        let mut sum = [0; CLASSES];
        while i > 0 {
            for (s, t) in sum.iter_mut().zip(self.tree[i]) {
                *s += t;
            }
            i -= lowbit(i);
        }
        sum
    }

    fn adjust(&mut self, pos: usize, class: u8, add: bool) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            let cell = &mut self.tree[i][class as usize];
            *cell = if add { *cell + 1 } else { *cell - 1 };
            i += lowbit(i);
        }
        let count = &mut self.counts[class as usize];
        *count = if add { *count + 1 } else { *count - 1 };
    }

    fn position(&self, id: i64) -> Option<usize> {
        let pos = self.ids.binary_search(&id).ok()?;
        self.rows[pos].as_ref().map(|_| pos)
    }

    pub(crate) fn get(&self, id: i64) -> Option<&T> {
        self.position(id).and_then(|p| self.rows[p].as_ref())
    }

    /// Mutable access; the caller must call `set_class` if the change moves the row's class.
    pub(crate) fn get_mut(&mut self, id: i64) -> Option<&mut T> {
        let pos = self.position(id)?;
        self.rows[pos].as_mut()
    }

    pub(crate) fn set_class(&mut self, id: i64, class: u8) {
        let class = class % CLASSES as u8;
        if let Some(pos) = self.position(id) {
            let old = self.classes[pos];
            if old != class {
                self.adjust(pos, old, false);
                self.adjust(pos, class, true);
                self.classes[pos] = class;
            }
        }
    }

    pub(crate) fn remove(&mut self, id: i64) -> Option<T> {
        let pos = self.position(id)?;
        self.adjust(pos, self.classes[pos], false);
        self.rows[pos].take()
    }

    pub(crate) fn last_id(&self) -> Option<i64> {
        self.ids.last().copied()
    }

    /// Live rows admitted by `mask`: O(1).
    pub(crate) fn count(&self, mask: ClassMask) -> usize {
        mask.sum(&self.counts) as usize
    }

    /// Rows `offset..offset+limit` of the filtered view: O(log n + limit).
    pub(crate) fn page(&self, mask: ClassMask, offset: usize, limit: usize) -> Vec<&T> {
        let Some(start) = self.nth_position(mask, offset) else {
            return Vec::new();
        };
        self.iter_from(start, mask).take(limit).collect()
    }

    /// Rows `offset..offset+limit` of the filtered view in *descending* id order (Halo's
    /// `order=id&orderdesc=true`): O(log n + limit).
    pub(crate) fn page_desc(&self, mask: ClassMask, offset: usize, limit: usize) -> Vec<&T> {
        let count = self.count(mask);
        if offset >= count {
            return Vec::new();
        }
        let Some(start) = self.nth_position(mask, count - 1 - offset) else {
            return Vec::new();
        };
        self.rows[..=start]
            .iter()
            .zip(&self.classes[..=start])
            .rev()
            .filter_map(|(row, class)| row.as_ref().filter(|_| mask.admits(*class)))
            .take(limit)
            .collect()
    }

    /// All live rows admitted by `mask`, in id order.
    pub(crate) fn iter(&self, mask: ClassMask) -> impl Iterator<Item = &T> {
        self.iter_from(0, mask)
    }

    fn iter_from(&self, start: usize, mask: ClassMask) -> impl Iterator<Item = &T> {
        self.rows[start..]
            .iter()
            .zip(&self.classes[start..])
            .filter_map(move |(row, class)| row.as_ref().filter(|_| mask.admits(*class)))
    }

    /// Position of the `k`-th (0-based) admitted live row: one Fenwick descent.
    fn nth_position(&self, mask: ClassMask, k: usize) -> Option<usize> {
        let n = self.tree.len() - 1;
        if k >= self.count(mask) {
            return None;
        }
        let mut pos = 0;
        let mut rem = k as u32;
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n {
                let s = mask.sum(&self.tree[next]);
                if s <= rem {
                    pos = next;
                    rem -= s;
                }
            }
            step >>= 1;
        }
        // `pos` positions hold exactly `k` admitted rows, so the next position is the k-th one.
        (pos < n).then_some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(rows: &[(i64, u8, bool)], mask: ClassMask) -> Vec<i64> {
        rows.iter()
            .filter(|(_, c, live)| *live && mask.admits(*c))
            .map(|(id, _, _)| *id)
            .collect()
    }

    #[test]
    fn pages_match_a_naive_filter_under_updates_and_deletes() {
        let mut t = PagedTable::default();
        let mut model = Vec::new();
        for id in 1..=1000i64 {
            let class = ((id * 7919) % 13 % 4) as u8;
            t.push(id * 3, class, id * 3).unwrap();
            model.push((id * 3, class, true));
        }
        for id in (5..1000i64).step_by(17) {
            t.remove(id * 3);
            model[(id - 1) as usize].2 = false;
        }
        for id in (2..1000i64).step_by(11) {
            t.set_class(id * 3, 3);
            model[(id - 1) as usize].1 = 3;
        }
        for bits in 0..16u8 {
            let mask = ClassMask(bits);
            let want = naive(&model, mask);
            assert_eq!(t.count(mask), want.len());
            for (offset, limit) in [(0, 100), (37, 10), (want.len().saturating_sub(3), 100)] {
                let got: Vec<i64> = t.page(mask, offset, limit).into_iter().copied().collect();
                let end = (offset + limit).min(want.len());
                let desc: Vec<i64> = want.iter().rev().copied().collect();
                let got_desc: Vec<i64> = t
                    .page_desc(mask, offset, limit)
                    .into_iter()
                    .copied()
                    .collect();
                assert_eq!(got_desc, desc[offset.min(end)..end], "desc, mask {bits}");
                assert_eq!(
                    got,
                    want[offset.min(end)..end],
                    "mask {bits} offset {offset}"
                );
            }
            assert!(t.page(mask, want.len(), 10).is_empty());
        }
        assert!(t.push(5, 0, 5).is_err());
        assert_eq!(t.get(6), Some(&6));
        assert_eq!(t.get(15), None); // deleted
    }
}
