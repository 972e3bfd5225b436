//! `--set dotted.key=value`: one override of an experiment file, parsed and
//! written into its TOML table (config/mod.rs's `load_with` checks it).

/// `training.epochs=2` -> (["training", "epochs"], 2). The value is TOML
/// when it parses as one, else the bare word as a string.
pub(super) fn parse(arg: &str) -> Result<(Vec<String>, toml::Value), String> {
    if let Some(c) = arg.chars().find(|c| c.is_control()) {
        // `training.epochs=2\nfoo=3` would be read as a table whose first key is kept and the rest dropped.
        return Err(format!(
            "holds a control character ({}): give the key and its value on one line",
            if c == '\n' || c == '\r' { "a line break".to_string() } else { c.escape_default().to_string() }
        ));
    }
    let Some((key, value)) = arg.split_once('=') else {
        return Err("give KEY=VALUE with a dotted key, e.g. --set training.epochs=2".into());
    };
    let mut key = split_key(key)?;
    // `sweep.model.hidden=[[64], [128]]`: the sweep's own keys are dotted names.
    if key.len() > 2 && key[0] == "sweep" {
        key = vec!["sweep".into(), key[1..].join(".")];
    }
    let value = value.trim();
    if value.is_empty() {
        return Err("the value is empty".into());
    }
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}")).ok().and_then(|mut t| t.remove("v"));
    Ok((key, parsed.unwrap_or_else(|| toml::Value::String(value.to_string()))))
}

/// `training.epochs` -> ["training", "epochs"].
pub(super) fn split_key(key: &str) -> Result<Vec<String>, String> {
    let key: Vec<String> = key.trim().split('.').map(|k| k.trim().to_string()).collect();
    if key.iter().any(|k| k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        return Err("the key must be dotted names of letters, digits, `_` and `-`, e.g. training.epochs".into());
    }
    Ok(key)
}

/// Sets `key` in `table`, making the sections it names.
pub(super) fn apply(table: &mut toml::Table, key: &[String], value: toml::Value) -> Result<(), String> {
    let (last, sections) = key.split_last().expect("a key has a name");
    let mut at = table;
    for (i, section) in sections.iter().enumerate() {
        let entry = at.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = entry.as_table_mut().ok_or_else(|| format!("`{}` is not a section", key[..=i].join(".")))?;
    }
    at.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_or_bare_words() {
        let (key, value) = parse("training.epochs=2").unwrap();
        assert_eq!((key, value), (vec!["training".to_string(), "epochs".to_string()], toml::Value::Integer(2)));
        assert_eq!(parse("training.lr=1e-3").unwrap().1, toml::Value::Float(1e-3));
        assert_eq!(parse("training.optimizer=adam").unwrap().1, toml::Value::String("adam".into()));
        assert!(parse("model.hidden=[128, 128]").unwrap().1.is_array());
        let (key, value) = parse("sweep.model.hidden=[[8], [16]]").unwrap();
        assert_eq!(key, ["sweep", "model.hidden"]);
        assert_eq!(value.as_array().map(Vec::len), Some(2));
        for bad in [
            "training.epochs",
            "=2",
            "a..b=1",
            "a b=1",
            "x=",
            "training.epochs=2\nfoo=3",
            "experiment.name=a\u{1b}[31m",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let mut table = toml::Table::new();
        apply(&mut table, &["training".into(), "epochs".into()], toml::Value::Integer(3)).unwrap();
        assert_eq!(table["training"]["epochs"].as_integer(), Some(3));
        let err = apply(&mut table, &["training".into(), "epochs".into(), "x".into()], toml::Value::Integer(1));
        assert!(err.unwrap_err().contains("`training.epochs` is not a section"));
    }
}
