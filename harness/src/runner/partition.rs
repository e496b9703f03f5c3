//! `--partition count:K/N`: one runner's share of the work when N runners split it, as
//! `cargo nextest run --partition count:K/N` splits tests: the items in a fixed order, every
//! N-th from the K-th. Each item lands in exactly one of the N partitions, whatever the
//! machine, because the order is the items' names, not a schedule or a history.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// 1-based.
    pub k: usize,
    pub n: usize,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let form = "expected count:K/N with 1 <= K <= N, e.g. count:1/2";
        let Some(rest) = s.strip_prefix("count:") else {
            return Err(format!("`{s}`: {form} (only count partitions)"));
        };
        let (k, n) = rest
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: {form}"))?;
        let (k, n) = match (k.parse::<usize>(), n.parse::<usize>()) {
            (Ok(k), Ok(n)) if k >= 1 && k <= n => (k, n),
            _ => return Err(format!("`{s}`: {form}")),
        };
        Ok(Partition { k, n })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "count:{}/{}", self.k, self.n)
    }
}

impl Partition {
    /// This partition's items: sorted by `name`, every N-th from the K-th.
    pub fn take<T>(&self, mut items: Vec<T>, name: impl Fn(&T) -> String) -> Vec<T> {
        items.sort_by_key(|i| name(i));
        items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.n == self.k - 1)
            .map(|(_, item)| item)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_in_exactly_one_partition() {
        let items: Vec<String> = (0..23).map(|i| format!("suite::case-{i:02}")).collect();
        for n in 1..=5 {
            let mut seen: Vec<String> = Vec::new();
            for k in 1..=n {
                let part = Partition { k, n }.take(items.clone(), |s| s.clone());
                assert!(part.len() >= items.len() / n, "{k}/{n}: {part:?}");
                seen.extend(part);
            }
            seen.sort();
            assert_eq!(seen, items, "partitions of {n}");
        }
    }

    #[test]
    fn the_share_does_not_depend_on_the_input_order() {
        let a = vec!["b", "a", "d", "c"];
        let mut b = a.clone();
        b.reverse();
        let p = Partition { k: 2, n: 2 };
        assert_eq!(p.take(a, |s| s.to_string()), p.take(b, |s| s.to_string()));
    }

    #[rstest::rstest]
    #[case("count:1/2", Ok(Partition { k: 1, n: 2 }))]
    #[case("count:2/2", Ok(Partition { k: 2, n: 2 }))]
    #[case("count:0/2", Err("expected count:K/N"))]
    #[case("count:3/2", Err("expected count:K/N"))]
    #[case("hash:1/2", Err("only count partitions"))]
    #[case("count:1", Err("expected count:K/N"))]
    fn parses_count_partitions(#[case] input: &str, #[case] want: Result<Partition, &str>) {
        match (input.parse::<Partition>(), want) {
            (Ok(p), Ok(w)) => assert_eq!(p, w),
            (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
            (got, want) => panic!("{input}: {got:?}, want {want:?}"),
        }
    }
}
