//! Ingress annotations, parsed once into one typed struct per feature.
//!
//! Keys are read as Higress reads them: `nginx.ingress.kubernetes.io/<key>` first, then
//! `higress.io/<key>`; some keys exist only under `higress.io/`. To add a feature, write one
//! file with a type implementing [`AnnotationGroup`] and add one line to
//! [`annotation_groups!`] below.

pub mod destination;
pub mod path_case;
pub mod reader;

pub use destination::{Destination, DestinationEntry};
pub use path_case::IgnorePathCase;
pub use reader::{AnnotationError, AnnotationReader};

/// One feature's annotations. `parse` returns `Ok(None)` when none of its keys are set.
pub trait AnnotationGroup: Sized {
    /// Parses this feature's keys; an invalid value is an error, never a guess.
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError>;
}

macro_rules! annotation_groups {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// Every annotation feature of one Ingress, parsed and validated.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct IngressAnnotations {
            $($(#[$doc])* pub $field: Option<$ty>,)*
        }

        impl IngressAnnotations {
            /// Parses every feature, collecting every error rather than stopping at the first.
            pub fn parse(reader: &AnnotationReader<'_>) -> Result<Self, Vec<AnnotationError>> {
                let mut errors = Vec::new();
                let parsed = Self {
                    $($field: match <$ty as AnnotationGroup>::parse(reader) {
                        Ok(value) => value,
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    },)*
                };
                if errors.is_empty() {
                    Ok(parsed)
                } else {
                    Err(errors)
                }
            }
        }
    };
}

annotation_groups! {
    /// `higress.io/destination`: McpBridge (or FQDN) destinations with weights.
    destination: Destination,
    /// `ignore-path-case`: case-insensitive path matching.
    ignore_path_case: IgnorePathCase,
}
