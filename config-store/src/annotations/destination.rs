//! `higress.io/destination`: where a McpBridge-backed path sends its traffic.
//!
//! One destination per line: `[<weight>%] <host>[:<port>] [<subset>]`, e.g.
//! `60% a.dns:80` / `40% b.static`. Without `%` a line weighs 100. Weights that do not add
//! up to 100 are used in proportion (Higress normalises them the same way).

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// The parsed destination list (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Destinations in annotation order.
    pub entries: Vec<DestinationEntry>,
}

/// One destination line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationEntry {
    /// Relative weight, 0..=100.
    pub weight: u32,
    /// Host: `<name>.dns`, `<name>.static`, a Nacos host, or a Service FQDN.
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// Subset (kept; used with registries that have subsets).
    pub subset: Option<String>,
}

impl AnnotationGroup for Destination {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let Some(value) = reader.get_higress("destination") else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        for (n, line) in value.value.lines().enumerate() {
            let entry = parse_line(line)
                .map_err(|msg| value.error(format!("line {}: {msg} (in {line:?})", n + 1)))?;
            entries.push(entry);
        }
        if entries.iter().all(|e| e.weight == 0) {
            return Err(value.error("every destination has weight 0%"));
        }
        Ok(Some(Destination { entries }))
    }
}

// === impl Destination ===

impl Destination {
    /// Sum of all weights.
    pub fn total_weight(&self) -> u32 {
        self.entries.iter().map(|e| e.weight).sum()
    }
}

fn parse_line(line: &str) -> Result<DestinationEntry, String> {
    let mut tokens = line.split_whitespace().peekable();
    let mut weight = 100;
    if let Some(first) = tokens.peek() {
        if let Some(pct) = first.strip_suffix('%') {
            weight = pct
                .parse::<u32>()
                .ok()
                .filter(|w| *w <= 100)
                .ok_or_else(|| format!("weight {first:?} is not a percentage from 0% to 100%"))?;
            tokens.next();
        }
    }
    let target = tokens.next().ok_or("missing destination host")?;
    let subset = tokens.next().map(str::to_string);
    if let Some(extra) = tokens.next() {
        return Err(format!("unexpected {extra:?} after the subset"));
    }
    let (host, port) = split_host_port(target)?;
    if host.is_empty() {
        return Err("missing destination host".into());
    }
    // Nacos service and group names are case-sensitive: keep them as written.
    let lower = host.to_ascii_lowercase();
    let host = if lower.ends_with(".nacos") {
        format!("{}.nacos", &host[..host.len() - ".nacos".len()])
    } else {
        lower
    };
    Ok(DestinationEntry {
        weight,
        host,
        port,
        subset,
    })
}

/// Splits `host:port`; the part after the last `:` is a port only when it is all digits
/// (Dubbo hosts like `providers:com.x.Svc:1.0.0:.nacos` contain colons).
fn split_host_port(target: &str) -> Result<(&str, Option<u16>), String> {
    match target.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port {port:?} is not from 1 to 65535"))?;
            Ok((host, Some(port)))
        }
        _ => Ok((target, None)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(value: &str) -> Result<Option<Destination>, AnnotationError> {
        let map = BTreeMap::from([("higress.io/destination".to_string(), value.to_string())]);
        Destination::parse(&AnnotationReader::new(&map))
    }

    #[test]
    fn single_host() {
        let d = parse("httpbin.dns").unwrap().unwrap();
        assert_eq!(
            d.entries,
            vec![DestinationEntry {
                weight: 100,
                host: "httpbin.dns".into(),
                port: None,
                subset: None
            }]
        );
    }

    #[test]
    fn weighted_lines_with_ports_and_subset() {
        let d = parse("60% a.dns:80\n  40% b.static:8080 v1 \n")
            .unwrap()
            .unwrap();
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.entries[0].weight, 60);
        assert_eq!(d.entries[0].port, Some(80));
        assert_eq!(d.entries[1].host, "b.static");
        assert_eq!(d.entries[1].subset.as_deref(), Some("v1"));
        assert_eq!(d.total_weight(), 100);
    }

    #[test]
    fn dubbo_host_keeps_colons() {
        let d = parse("providers:com.x.Svc:1.0.0:dev.DEFAULT-GROUP.public.nacos")
            .unwrap()
            .unwrap();
        assert_eq!(d.entries[0].port, None);
        assert_eq!(
            d.entries[0].host, "providers:com.x.Svc:1.0.0:dev.DEFAULT-GROUP.public.nacos",
            "Nacos names keep their case"
        );
        let d = parse("Echo.DNS:80").unwrap().unwrap();
        assert_eq!(d.entries[0].host, "echo.dns");
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "150% a.dns",
            "x% a.dns",
            "a.dns:99999",
            "50%",
            "0% a.dns",
            "a b c",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.key, "higress.io/destination", "{bad}");
        }
    }

    #[test]
    fn nginx_prefix_is_not_read() {
        let map = BTreeMap::from([(
            "nginx.ingress.kubernetes.io/destination".to_string(),
            "a.dns".to_string(),
        )]);
        assert_eq!(
            Destination::parse(&AnnotationReader::new(&map)).unwrap(),
            None
        );
    }
}
