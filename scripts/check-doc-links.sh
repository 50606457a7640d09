#!/usr/bin/env bash
# Fails when a document that the code or the docs cite is not in the repository.
#
# Checked, in src/ crates/ tests/ benches/ docs/ config/ systemd/ deploy/ build.rs README.md:
#   - every `something.md` path (comments, strings, prose): it must exist relative to the citing file or to the
#     repository root (`docs/...` paths: the root only);
#   - every relative markdown link `[text](target)` in a .md file: the target (file or folder) must exist
#     relative to that file, and a `#anchor` into a .md file must match one of its headings;
#   - every numbered section cited after a path, as in `docs/reference/haloitsm-api.md §5, §6.2`: the document
#     must have a heading that starts with that number; outside .md files a `§N` without its document fails.
# URLs (`https://…`, `file:///…`) and absolute paths are not checked.
#
# Usage: scripts/check-doc-links.sh   (from anywhere; exit 0 when nothing dangles, 1 otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=()
for t in src crates tests benches docs config systemd deploy build.rs README.md; do
    [ -e "$t" ] && targets+=("$t")
done

# Only files git would see (no target/, no var/), or every file outside a git checkout;
# grep -I skips binary files.
list_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -co --exclude-standard -- "${targets[@]}"
    else
        find "${targets[@]}" -type f
    fi
}

list_files | while IFS= read -r f; do
    [ -f "$f" ] && grep -Iq . "$f" 2>/dev/null && printf '%s\n' "$f"
done | perl -e '
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my $bad = 0;
my $checked = 0;
my %headings;    # file -> [heading lines]

sub resolve {
    my ($from, $path) = @_;
    my @candidates = $path =~ m{^docs/} ? ($path) : (File::Spec->catfile(dirname($from), $path), $path);
    for my $c (@candidates) {
        return File::Spec->canonpath($c) if -e $c;
    }
    return undef;
}

sub headings_of {
    my ($file) = @_;
    return $headings{$file} //= do {
        my @h;
        if (open(my $fh, "<", $file)) {
            my $fence = 0;
            while (<$fh>) {
                $fence = !$fence if /^\s*```/;
                push @h, $1 if !$fence && /^#{1,6}\s+(.*?)\s*#*\s*$/;
            }
        }
        \@h;
    };
}

# GitHub anchor: lower case, punctuation other than "-" and "_" dropped, spaces to "-".
sub slug {
    my ($h) = @_;
    $h = lc $h;
    $h =~ s/[^\w\- ]//g;
    $h =~ s/ /-/g;
    return $h;
}

sub fail {
    my ($file, $line, $msg) = @_;
    print "$file:$line: $msg\n";
    $bad++;
}

while (my $file = <STDIN>) {
    chomp $file;
    open(my $fh, "<", $file) or next;
    my $is_md = $file =~ /\.md$/;
    my $fence = 0;
    while (my $line = <$fh>) {
        $fence = !$fence if $is_md && $line =~ /^\s*```/;

        # Markdown links (outside code blocks).
        if ($is_md && !$fence) {
            while ($line =~ /\]\(([^)\s]+)\)/g) {
                my $target = $1;
                next if $target =~ m{^[a-z][a-z0-9+.-]*:}i || $target =~ m{^/};
                my ($path, $anchor) = split /#/, $target, 2;
                $checked++;
                my $where = $path eq "" ? $file : resolve($file, $path);
                if (!defined $where) {
                    fail($file, $., "link to a missing file: $target");
                    next;
                }
                if (defined $anchor && $anchor ne "" && $where =~ /\.md$/) {
                    my @slugs = map { slug($_) } @{ headings_of($where) };
                    fail($file, $., "link to a missing heading: $target")
                        unless grep { $_ eq $anchor } @slugs;
                }
            }
        }

        # Bare .md paths anywhere, optionally followed by numbered sections.
        my $cited_sections = 0;
        while ($line =~ m{(?<![\w/.:\-\@])((?:\.\.?/)*[\w\-]+(?:[./][\w\-]+)*\.md)\b((?:[\s,]*(?:and\s+)?§\s*\d+(?:\.\d+)*)*)}g) {
            my ($path, $sections) = ($1, $2);
            $checked++;
            my $where = resolve($file, $path);
            if (!defined $where) {
                fail($file, $., "cites a missing document: $path");
                next;
            }
            for my $n ($sections =~ /§\s*(\d+(?:\.\d+)*)/g) {
                $cited_sections++;
                my $re = qr/^\Q$n\E(?:\.?\s)/;
                fail($file, $., "cites $path §$n, which has no heading numbered $n")
                    unless grep { $_ =~ $re } @{ headings_of($where) };
            }
        }
        # Outside the docs, a section number must come with the document it is in.
        if (!$is_md) {
            my $all = () = $line =~ /§/g;
            fail($file, $., "cites a section without its document (write docs/....md §N)")
                if $all > $cited_sections;
        }
    }
    close $fh;
}

if ($bad) {
    print "check-doc-links: $bad dangling reference(s) out of $checked\n";
    exit 1;
}
print "check-doc-links: $checked references, none dangling\n";
'
