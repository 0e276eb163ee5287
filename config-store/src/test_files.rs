//! Test support: sources built from `(label, text)` pairs laid out as in a config directory
//! (`ingresses/r.yaml` → kind from the directory, name from the file).

use crate::kind::ResourceKind;
use crate::parse::SourceContext;
use crate::snapshot::SourceOutcome;

/// One parsed source per `(label, text)`.
pub(crate) fn sources(files: &[(&str, &str)]) -> Vec<SourceOutcome> {
    files
        .iter()
        .map(|(label, text)| {
            let (dir, file) = label.split_once('/').unwrap_or(("", label));
            let name = file.strip_suffix(".yaml").unwrap_or(file);
            let ctx = SourceContext {
                label,
                dir_kind: ResourceKind::from_plural(dir),
                default_name: Some(name),
            };
            SourceOutcome::parse(label.to_string(), (*text).into(), ctx)
        })
        .collect()
}
