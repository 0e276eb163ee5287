//! A kind's names index (`<plural>.__names__` in `DEFAULT_GROUP`): one `group/dataId` line
//! per resource, each ending in `\n`, or `EMPTY` when there is none (Nacos refuses empty
//! content). Higress's refresher writes `group/dataId` lines; its Create appends
//! `group/name`: both are read. Writers change it on every create and delete, so other
//! instances listening to it re-list at once.

use crate::kind::ResourceKind;
use crate::nacos::layout;

/// The content of an index without entries.
pub const EMPTY: &str = "EMPTY";

/// The entries of one names index, in their stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesIndex {
    kind: ResourceKind,
    /// `group/dataId` keys.
    keys: Vec<String>,
}

// === impl NamesIndex ===

impl NamesIndex {
    /// Reads stored content (`None`: the index does not exist).
    pub fn parse(kind: ResourceKind, content: Option<&str>) -> Self {
        let prefix = format!("{}.", kind.plural());
        let mut keys: Vec<String> = Vec::new();
        for line in content.unwrap_or_default().lines() {
            let line = line.trim();
            let Some((group, rest)) = line.split_once('/') else {
                continue;
            };
            if group.is_empty() || rest.is_empty() {
                continue;
            }
            let data_id = if rest.starts_with(&prefix) {
                rest.to_string()
            } else {
                layout::data_id(kind, rest)
            };
            let key = format!("{group}/{data_id}");
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Self { kind, keys }
    }

    /// An index holding `data_ids` of the resource group, sorted.
    pub fn of(kind: ResourceKind, data_ids: impl IntoIterator<Item = String>) -> Self {
        let mut keys: Vec<String> = data_ids
            .into_iter()
            .map(|d| format!("{}/{d}", layout::GROUP))
            .collect();
        keys.sort();
        keys.dedup();
        Self { kind, keys }
    }

    /// The data ids listed for the resource group.
    pub fn data_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| {
            k.strip_prefix(layout::GROUP)
                .and_then(|rest| rest.strip_prefix('/'))
        })
    }

    /// Adds a data id at the end; false when it was there.
    pub fn insert(&mut self, data_id: &str) -> bool {
        let key = format!("{}/{data_id}", layout::GROUP);
        if self.keys.contains(&key) {
            return false;
        }
        self.keys.push(key);
        true
    }

    /// Removes a data id; false when it was not there.
    pub fn remove(&mut self, data_id: &str) -> bool {
        let key = format!("{}/{data_id}", layout::GROUP);
        let before = self.keys.len();
        self.keys.retain(|k| *k != key);
        before != self.keys.len()
    }

    /// Whether both list the same entries, in any order.
    pub fn same_entries(&self, other: &NamesIndex) -> bool {
        let mut a = self.keys.clone();
        let mut b = other.keys.clone();
        a.sort();
        b.sort();
        self.kind == other.kind && a == b
    }

    /// The content to store.
    pub fn render(&self) -> String {
        if self.keys.is_empty() {
            return EMPTY.to_string();
        }
        let mut out = String::new();
        for k in &self.keys {
            out.push_str(k);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_higress_forms_and_writes_the_refresher_form() {
        let k = ResourceKind::Ingress;
        let mut index = NamesIndex::parse(
            k,
            Some("higress-system/ingresses.a\nhigress-system/b\nother/ingresses.c\n"),
        );
        assert_eq!(
            index.data_ids().collect::<Vec<_>>(),
            ["ingresses.a", "ingresses.b"]
        );
        assert!(index.insert("ingresses.d"));
        assert!(!index.insert("ingresses.a"));
        assert!(index.remove("ingresses.b"));
        assert_eq!(
            index.render(),
            "higress-system/ingresses.a\nother/ingresses.c\nhigress-system/ingresses.d\n"
        );
        let empty = NamesIndex::parse(k, Some(EMPTY));
        assert_eq!(empty.render(), "EMPTY");
        assert_eq!(NamesIndex::parse(k, None), empty);
        let listed = NamesIndex::of(k, ["ingresses.b".to_string(), "ingresses.a".into()]);
        assert_eq!(
            listed.render(),
            "higress-system/ingresses.a\nhigress-system/ingresses.b\n"
        );
        let reordered =
            NamesIndex::parse(k, Some("higress-system/b\nhigress-system/ingresses.a\n"));
        assert!(listed.same_entries(&reordered));
    }
}
