//! Bounds on configuration input, so that no file can exhaust the gateway's memory or stall a
//! reload: file size, YAML nesting depth, and the nodes YAML aliases may add.
//!
//! [`check_yaml`] runs before a source is parsed. A source with no possible alias and few
//! flow brackets takes a byte scan; any other is pre-read as a stream of YAML events
//! (`saphyr-parser`) that stops at the first bound crossed, before `yaml_serde` (whose
//! libyaml loader reads a whole document first, in quadratic time for deep flow nesting, and
//! expands every alias) sees it.

use saphyr_parser::{Event, Parser, ScanError};

/// Default largest file read: 4 MiB (`--max-file-size`). Kubernetes objects are at most
/// ~1.5 MiB (etcd's limit), so this leaves room for several documents in one file.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// Default deepest nesting of YAML collections: 128 levels, the same bound `yaml_serde`
/// applies while deserialising (Higress resources nest about 20 levels at most).
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Default most nodes that aliases may add to one file: 1,000,000 (about what a 4 MiB file
/// can hold written out, so aliases cannot make a file cost much more than the size limit
/// allows).
pub const DEFAULT_MAX_ALIAS_NODES: u64 = 1_000_000;

/// The bounds applied to every source. Defaults: [`DEFAULT_MAX_FILE_SIZE`],
/// [`DEFAULT_MAX_DEPTH`], [`DEFAULT_MAX_ALIAS_NODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest source, in bytes; a larger file is not read.
    pub max_file_size: u64,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes aliases may add, counting everything each alias stands for (recursively).
    pub max_alias_nodes: u64,
}

/// A source that crosses a bound (or that the bounded pre-read cannot parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The source is larger than [`Limits::max_file_size`].
    #[error("file is {}, over the {} limit (raise it with --max-file-size); not read", format_size(*size), format_size(*max))]
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// Collections nest deeper than [`Limits::max_depth`].
    #[error("YAML nests deeper than {max} levels (line {line}, column {column}); not parsed")]
    TooDeep {
        /// The limit.
        max: usize,
        /// 1-based line where the limit was crossed.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Aliases add more than [`Limits::max_alias_nodes`] nodes.
    #[error(
        "YAML aliases expand to more than {max} nodes (line {line}, column {column}); not parsed"
    )]
    TooManyAliasNodes {
        /// The limit.
        max: u64,
        /// 1-based line of the alias that crossed it.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An alias inside the node its anchor names (a cycle, which never ends when expanded).
    #[error(
        "YAML alias refers to a node that contains it (line {line}, column {column}); not parsed"
    )]
    RecursiveAlias {
        /// 1-based line of the alias.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The pre-read found a YAML syntax error. `message` may quote the input.
    #[error("invalid YAML: {message} at line {line} column {column}")]
    Syntax {
        /// The parser's description.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

/// What the event pre-read counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YamlStats {
    /// Nodes after alias expansion (scalars, sequences, mappings; keys count).
    pub nodes: u64,
    /// Nodes the aliases added.
    pub alias_nodes: u64,
    /// Deepest nesting seen.
    pub depth: usize,
    /// Documents in the stream.
    pub documents: usize,
}

// === impl Limits ===

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_depth: DEFAULT_MAX_DEPTH,
            max_alias_nodes: DEFAULT_MAX_ALIAS_NODES,
        }
    }
}

impl Limits {
    /// The defaults with another file size limit (`--max-file-size`).
    pub fn with_max_file_size(max_file_size: u64) -> Self {
        Self {
            max_file_size,
            ..Self::default()
        }
    }
}

// === impl LimitError ===

impl LimitError {
    /// The 1-based line and column the error points at, when it has one.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            LimitError::TooLarge { .. } => None,
            LimitError::TooDeep { line, column, .. }
            | LimitError::TooManyAliasNodes { line, column, .. }
            | LimitError::RecursiveAlias { line, column }
            | LimitError::Syntax { line, column, .. } => Some((*line, *column)),
        }
    }
}

/// Checks one YAML source against `limits`: its size, and, unless a byte scan proves them
/// harmless, its nesting and aliases.
pub fn check_yaml(text: &str, limits: &Limits) -> Result<(), LimitError> {
    let size = text.len() as u64;
    if size > limits.max_file_size {
        return Err(LimitError::TooLarge {
            size,
            max: limits.max_file_size,
        });
    }
    if needs_event_scan(text, limits) {
        scan_events(text, limits)?;
    }
    Ok(())
}

/// False when the bytes alone prove the bounds hold: no alias can expand without both an
/// anchor (`&name`) and an alias (`*name`), and flow collections cannot nest deeper than the
/// number of `[` and `{` in the text. (Block nesting costs linear time; `yaml_serde` stops
/// it at 128 levels.)
pub fn needs_event_scan(text: &str, limits: &Limits) -> bool {
    let bytes = text.as_bytes();
    let marked = |sigil: u8| {
        bytes
            .windows(2)
            .any(|w| w[0] == sigil && is_anchor_char(w[1]))
    };
    if marked(b'&') && marked(b'*') {
        return true;
    }
    let open = bytes.iter().filter(|&&b| b == b'[' || b == b'{').count();
    open > limits.max_depth
}

/// The first byte of an anchor or alias name as libyaml reads it (`[0-9A-Za-z_-]`).
fn is_anchor_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Reads `text` as YAML events and stops at the first bound crossed. Each alias counts the
/// full expanded size of the node its anchor names.
pub fn scan_events(text: &str, limits: &Limits) -> Result<YamlStats, LimitError> {
    // Expanded size of each anchored node, by anchor id (0 = no anchor).
    let mut anchored: Vec<Option<u64>> = Vec::new();
    // Open collections: the node count at their start and their anchor id.
    let mut open: Vec<(u64, usize)> = Vec::new();
    let mut stats = YamlStats::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(syntax)?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::DocumentStart(_) => stats.documents += 1,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                stats.nodes = stats.nodes.saturating_add(1);
                open.push((stats.nodes, anchor));
                stats.depth = stats.depth.max(open.len());
                if open.len() > limits.max_depth {
                    return Err(LimitError::TooDeep {
                        max: limits.max_depth,
                        line,
                        column,
                    });
                }
                if anchor != 0 {
                    set(&mut anchored, anchor, None);
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((start, anchor)) = open.pop() {
                    if anchor != 0 {
                        let size = stats.nodes - start + 1;
                        set(&mut anchored, anchor, Some(size));
                    }
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                stats.nodes = stats.nodes.saturating_add(1);
                if anchor != 0 {
                    set(&mut anchored, anchor, Some(1));
                }
            }
            Event::Alias(anchor) => {
                let size = match anchored.get(anchor).copied().flatten() {
                    Some(size) => size,
                    None if open.iter().any(|&(_, a)| a == anchor) => {
                        return Err(LimitError::RecursiveAlias { line, column });
                    }
                    // Unknown anchors are a syntax error the parser reports itself.
                    None => 1,
                };
                stats.nodes = stats.nodes.saturating_add(size);
                stats.alias_nodes = stats.alias_nodes.saturating_add(size);
                if stats.alias_nodes > limits.max_alias_nodes {
                    return Err(LimitError::TooManyAliasNodes {
                        max: limits.max_alias_nodes,
                        line,
                        column,
                    });
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    Ok(stats)
}

fn set(anchored: &mut Vec<Option<u64>>, anchor: usize, size: Option<u64>) {
    if anchored.len() <= anchor {
        anchored.resize(anchor + 1, None);
    }
    anchored[anchor] = size;
}

fn syntax(e: ScanError) -> LimitError {
    let m = e.marker();
    if e.info().contains("recursion limit") {
        // saphyr's own flow-nesting cap (255), reached when its scanner looks ahead.
        return LimitError::TooDeep {
            max: DEFAULT_MAX_DEPTH.min(255),
            line: m.line(),
            column: m.col() + 1,
        };
    }
    LimitError::Syntax {
        message: e.info().to_string(),
        line: m.line(),
        column: m.col() + 1,
    }
}

/// Parses a size: bytes (`1048576`), or a number with `k`/`KiB`, `m`/`MiB`, `g`/`GiB`
/// (binary multiples either way; `B` optional, any case).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (use e.g. 4MiB, 512k or 1048576)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor: u64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" if unit.is_empty() || unit == "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("invalid size unit in {s:?} (use k, MiB or G)")),
    };
    match value.checked_mul(factor) {
        Some(0) => Err(format!("size {s:?} must be greater than zero")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("size {s:?} is too large")),
    }
}

/// `4 MiB`, `512 KiB`, or `1234 bytes`.
pub fn format_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One anchored list of `items` scalars and a list of `aliases` aliases to it.
    pub(crate) fn wide_alias(items: usize, aliases: usize) -> String {
        let list = vec!["item"; items].join(", ");
        let refs = vec!["*a"; aliases].join(", ");
        format!("a: &a [{list}]\nb: [{refs}]\n")
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("10b"), Ok(10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4x").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999G").is_err());
        assert_eq!(format_size(4 << 20), "4 MiB");
        assert_eq!(format_size(1536), "1536 bytes");
        assert_eq!(format_size(2048), "2 KiB");
    }

    #[test]
    fn wide_alias_is_refused_after_the_budget() {
        let text = wide_alias(10_000, 10_000);
        let e = check_yaml(&text, &Limits::default()).unwrap_err();
        assert!(
            matches!(
                e,
                LimitError::TooManyAliasNodes {
                    max: 1_000_000,
                    line: 2,
                    ..
                }
            ),
            "{e}"
        );
        // A few aliases of the same list are fine.
        let stats = scan_events(&wide_alias(1_000, 10), &Limits::default()).unwrap();
        assert_eq!(stats.alias_nodes, 10 * 1_001);
    }

    #[test]
    fn nested_aliases_count_what_they_stand_for() {
        // b holds 10 aliases of a (3 nodes each); c holds 10 aliases of b.
        let text = "a: &a [x, y]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
        let stats = scan_events(text, &Limits::default()).unwrap();
        assert_eq!(stats.alias_nodes, 10 * 3 + 10 * (1 + 10 * 3));
        let tight = Limits {
            max_alias_nodes: 300,
            ..Limits::default()
        };
        assert!(matches!(
            scan_events(text, &tight),
            Err(LimitError::TooManyAliasNodes { line: 3, .. })
        ));
    }

    #[test]
    fn deep_flow_nesting_is_refused_early() {
        for text in [
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000)),
            "{a:\n".repeat(100_000),
        ] {
            let e = check_yaml(&text, &Limits::default()).unwrap_err();
            assert!(matches!(e, LimitError::TooDeep { .. }), "{e}");
        }
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(scan_events(&ok, &Limits::default()).unwrap().depth, 128);
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(check_yaml(&deep, &Limits::default()).is_err());
    }

    #[test]
    fn size_is_checked_first() {
        let limits = Limits::with_max_file_size(10);
        assert_eq!(
            check_yaml("a: 12345678\n", &limits),
            Err(LimitError::TooLarge { size: 12, max: 10 })
        );
        assert!(LimitError::TooLarge {
            size: 5 << 20,
            max: 4 << 20
        }
        .to_string()
        .contains("over the 4 MiB limit"));
    }

    #[test]
    fn recursive_alias_is_refused() {
        let e = scan_events("a: &a [1, *a]\n", &Limits::default()).unwrap_err();
        assert!(matches!(e, LimitError::RecursiveAlias { .. }), "{e}");
    }

    #[test]
    fn plain_files_skip_the_event_scan() {
        let limits = Limits::default();
        let ingress = "kind: Ingress\nmetadata:\n  annotations:\n    a: 'x=1&y=2'\nspec:\n  rules:\n  - host: '*.a.com'\n    http: {paths: [{path: /}]}\n";
        assert!(!needs_event_scan(ingress, &limits));
        assert!(needs_event_scan("a: &x 1\nb: *x\n", &limits));
        assert!(needs_event_scan(&"[".repeat(129), &limits));
        assert!(check_yaml(ingress, &limits).is_ok());
    }
}
