//! `.nacos` destination hosts → Nacos services: the McpBridge registry that discovers the
//! host gives the server, namespace, group and (through `authSecretName`) the login.

use config_store::resource::mcpbridge::nacos_host::find_nacos;
use config_store::resource::mcpbridge::RegistryConfig;

use super::Compiler;
use crate::discovery::nacos::{NacosCredentials, NacosServer, NacosService};
use crate::upstream::TargetSpec;

impl Compiler<'_> {
    /// The target of a `<service>.<group>.<namespace>.nacos` host.
    pub(super) fn nacos_spec(&self, host: &str) -> Result<(TargetSpec, &RegistryConfig), String> {
        let bridge = self
            .snapshot
            .mcp_bridge()
            .ok_or_else(|| format!("destination {host:?} needs McpBridge default"))?;
        let m = find_nacos(&bridge.spec.registries, host)?;
        let credentials = match m.registry.auth_secret_name.as_deref() {
            Some(name) => Some(self.nacos_credentials(&m.registry.name, name)?),
            None => None,
        };
        let service = NacosService {
            server: NacosServer {
                addr: m.registry.nacos_server_addr(),
                namespace: m.registry.nacos_namespace_id().to_string(),
                credentials,
            },
            group: m.group.to_string(),
            service: m.service.to_string(),
        };
        Ok((TargetSpec::Nacos(service), m.registry))
    }

    /// `nacosUsername` / `nacosPassword` of the registry's auth Secret.
    fn nacos_credentials(&self, registry: &str, secret: &str) -> Result<NacosCredentials, String> {
        let name = secret.rsplit('/').next().unwrap_or(secret);
        let s = self
            .snapshot
            .secret(name)
            .ok_or_else(|| format!("registry {registry:?}: Secret {name:?} does not exist"))?;
        let field = |key: &str| {
            s.value(key)
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string)
                .ok_or_else(|| {
                    format!("registry {registry:?}: Secret {name:?} has no UTF-8 {key:?}")
                })
        };
        Ok(NacosCredentials {
            username: field("nacosUsername")?,
            password: field("nacosPassword")?,
        })
    }
}
