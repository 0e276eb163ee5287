//! Nacos service hosts as Higress names them: `<service>.<group>.<namespace>.nacos`, with
//! `_` turned into `-` in the group and namespace (`echo.DEFAULT-GROUP.public.nacos`), and
//! which `nacos`/`nacos2`/`nacos3` registry of a McpBridge discovers one.

use super::{RegistryConfig, RegistryType};

/// A `.nacos` destination host split into its parts (labels as written in the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NacosHost<'a> {
    /// Service name, case as registered (may contain dots and colons, e.g. Dubbo).
    pub service: &'a str,
    /// Group label (`DEFAULT-GROUP` for `DEFAULT_GROUP`).
    pub group: &'a str,
    /// Namespace label (`public` for the default namespace).
    pub namespace: &'a str,
}

/// A `.nacos` host matched to the registry that discovers it.
#[derive(Debug, Clone, Copy)]
pub struct NacosMatch<'r, 'h> {
    /// The registry.
    pub registry: &'r RegistryConfig,
    /// The group as registered in Nacos (from the registry's `nacosGroups`).
    pub group: &'r str,
    /// The service name.
    pub service: &'h str,
}

// === impl NacosHost ===

impl<'a> NacosHost<'a> {
    /// Splits `host`; `None` unless it has the shape `<service>.<group>.<namespace>.nacos`.
    pub fn parse(host: &'a str) -> Option<Self> {
        let rest = host.strip_suffix(".nacos")?;
        let (rest, namespace) = rest.rsplit_once('.')?;
        let (service, group) = rest.rsplit_once('.')?;
        (!service.is_empty() && !group.is_empty() && !namespace.is_empty()).then_some(Self {
            service,
            group,
            namespace,
        })
    }
}

// === impl RegistryConfig ===

impl RegistryConfig {
    /// True for the Nacos registry types (`nacos`, `nacos2`, `nacos3`).
    pub fn is_nacos(&self) -> bool {
        matches!(
            self.registry_type,
            Some(RegistryType::Nacos | RegistryType::Nacos2 | RegistryType::Nacos3)
        )
    }

    /// The namespace id the Nacos client uses: `nacosNamespaceId`, empty for `public`.
    pub fn nacos_namespace_id(&self) -> &str {
        match self.nacos_namespace_id.as_deref() {
            None | Some("public") => "",
            Some(id) => id,
        }
    }

    /// The namespace label in hosts: `nacosNamespace`, else `nacosNamespaceId`, else
    /// `public`, with `_` → `-`.
    pub fn nacos_host_namespace(&self) -> String {
        let ns = [&self.nacos_namespace, &self.nacos_namespace_id]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .map_or("public", String::as_str);
        ns.replace('_', "-")
    }

    /// The registered group whose host label is `label`, when this registry watches it.
    pub fn nacos_group(&self, label: &str) -> Option<&str> {
        self.nacos_groups
            .iter()
            .find(|g| g.replace('_', "-") == label)
            .map(String::as_str)
    }

    /// The HTTP address of the Nacos server: `domain:port` (port 8848 when unset).
    pub fn nacos_server_addr(&self) -> String {
        let port = self.port.unwrap_or(8848);
        format!("{}:{port}", self.domain.trim())
    }
}

/// The registry among `registries` that discovers `host`, or why none does.
pub fn find_nacos<'r, 'h>(
    registries: &'r [RegistryConfig],
    host: &'h str,
) -> Result<NacosMatch<'r, 'h>, String> {
    let parsed = NacosHost::parse(host).ok_or_else(|| {
        format!("destination {host:?} is not a Nacos service host (<service>.<group>.<namespace>.nacos)")
    })?;
    let nacos: Vec<&'r RegistryConfig> = registries.iter().filter(|r| r.is_nacos()).collect();
    if nacos.is_empty() {
        return Err(format!(
            "destination {host:?}: McpBridge default has no nacos registry"
        ));
    }
    let in_namespace: Vec<&'r RegistryConfig> = nacos
        .into_iter()
        .filter(|r| r.nacos_host_namespace() == parsed.namespace)
        .collect();
    if in_namespace.is_empty() {
        return Err(format!(
            "destination {host:?}: no nacos registry watches namespace {:?}",
            parsed.namespace
        ));
    }
    in_namespace
        .into_iter()
        .find_map(|registry| {
            registry.nacos_group(parsed.group).map(|group| NacosMatch {
                registry,
                group,
                service: parsed.service,
            })
        })
        .ok_or_else(|| {
            format!(
                "destination {host:?}: no nacos registry in namespace {:?} lists group {:?} in nacosGroups",
                parsed.namespace, parsed.group
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(ns: Option<&str>, groups: &[&str]) -> RegistryConfig {
        RegistryConfig {
            registry_type: Some(RegistryType::Nacos2),
            name: "nacos".into(),
            domain: "127.0.0.1".into(),
            port: Some(8848),
            nacos_namespace_id: ns.map(str::to_string),
            nacos_groups: groups.iter().map(|g| g.to_string()).collect(),
            ..RegistryConfig::default()
        }
    }

    #[test]
    fn splits_hosts_from_the_right() {
        let h = NacosHost::parse("providers:com.x.Svc:1.0.0:dev.DEFAULT-GROUP.public.nacos");
        assert_eq!(
            h,
            Some(NacosHost {
                service: "providers:com.x.Svc:1.0.0:dev",
                group: "DEFAULT-GROUP",
                namespace: "public"
            })
        );
        assert_eq!(NacosHost::parse("echo.public.nacos"), None);
        assert_eq!(NacosHost::parse("echo.dns"), None);
    }

    #[test]
    fn matches_namespace_and_group_labels() {
        let regs = [
            registry(Some(""), &["DEFAULT_GROUP"]),
            registry(Some("dev_ns"), &["my_group", "OTHER"]),
        ];
        let m = find_nacos(&regs, "echo.DEFAULT-GROUP.public.nacos").unwrap();
        assert_eq!((m.group, m.service), ("DEFAULT_GROUP", "echo"));
        assert_eq!(m.registry.nacos_namespace_id(), "");
        let m = find_nacos(&regs, "svc.my-group.dev-ns.nacos").unwrap();
        assert_eq!(m.group, "my_group");
        assert_eq!(m.registry.nacos_namespace_id(), "dev_ns");
        let e = find_nacos(&regs, "svc.nope.dev-ns.nacos").unwrap_err();
        assert!(e.contains("lists group \"nope\""), "{e}");
        let e = find_nacos(&regs, "svc.OTHER.prod.nacos").unwrap_err();
        assert!(e.contains("namespace \"prod\""), "{e}");
        let e = find_nacos(&[], "svc.OTHER.prod.nacos").unwrap_err();
        assert!(e.contains("no nacos registry"), "{e}");
    }
}
