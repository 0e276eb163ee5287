//! Higress standalone's Nacos layout (`nacos_rest.go`): a resource is the config
//! `<plural>.<name>` in group `higress-system`; each kind has a names index
//! `<plural>.__names__` in `DEFAULT_GROUP`.

use crate::kind::{ResourceKind, IGNORED_PLURALS};
use crate::SYSTEM_NAMESPACE;

/// The group of every resource: its K8s namespace, always `higress-system`.
pub const GROUP: &str = SYSTEM_NAMESPACE;
/// The group of the names indexes.
pub const NAMES_GROUP: &str = "DEFAULT_GROUP";
/// The suffix of a names index data id.
const NAMES_SUFFIX: &str = "__names__";

/// What a data id of the resource group stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataId {
    /// A resource Gantry reads.
    Resource(ResourceKind, String),
    /// A kind Higress standalone stores and Gantry does not act on (`ingressclasses.…`).
    Ignored,
    /// Anything else (unknown prefix, bad name).
    Unknown,
}

/// The data id of a resource: `ingresses.route-a`.
pub fn data_id(kind: ResourceKind, name: &str) -> String {
    format!("{}.{name}", kind.plural())
}

/// The data id of a kind's names index: `ingresses.__names__`.
pub fn names_data_id(kind: ResourceKind) -> String {
    format!("{}.{NAMES_SUFFIX}", kind.plural())
}

/// Reads a data id of the resource group. The name is everything after the first `.`
/// (`wasmplugins.ai-proxy.internal` → WasmPlugin `ai-proxy.internal`).
pub fn parse(data_id: &str) -> DataId {
    let Some((plural, name)) = data_id.split_once('.') else {
        return DataId::Unknown;
    };
    match ResourceKind::from_plural(plural) {
        Some(_) if name == NAMES_SUFFIX => DataId::Ignored,
        Some(kind) if crate::store::check_name(name).is_ok() => {
            DataId::Resource(kind, name.to_string())
        }
        Some(_) => DataId::Unknown,
        None if IGNORED_PLURALS.contains(&plural) => DataId::Ignored,
        None => DataId::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_ids() {
        assert_eq!(
            data_id(ResourceKind::ConfigMap, "higress-config"),
            "configmaps.higress-config"
        );
        assert_eq!(names_data_id(ResourceKind::Ingress), "ingresses.__names__");
        assert_eq!(
            parse("wasmplugins.ai-proxy.internal"),
            DataId::Resource(ResourceKind::WasmPlugin, "ai-proxy.internal".into())
        );
        assert_eq!(parse("ingressclasses.higress"), DataId::Ignored);
        assert_eq!(parse("ingresses.__names__"), DataId::Ignored);
        assert_eq!(parse("ingresses.Bad Name"), DataId::Unknown);
        assert_eq!(parse("whatever"), DataId::Unknown);
    }
}
