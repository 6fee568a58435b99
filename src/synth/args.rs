//! Arguments generated from a tool's input schema.
//!
//! Written by hand: the crates that generate JSON from a schema are fuzzers (random, unbounded
//! output, no determinism promise across versions) or code generators; tooltape needs small,
//! readable, seed-deterministic values that differ between calls and a clear error naming the
//! schema path when a schema cannot be satisfied. Every value is then checked against the schema
//! by the validator (`crate::fit`: the `boon` crate), so whatever the walk below gets wrong (a
//! `pattern`, a `not`, a `oneOf` that two branches match) is reported, never sent.

use serde_json::{Map, Value, json};

/// Why no arguments could be made for a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {why}")]
pub struct Unsatisfiable {
    /// JSON Pointer into the schema (`/properties/unit`), `""` for the root.
    pub path: String,
    /// What cannot be satisfied.
    pub why: String,
}

fn unsat(path: &str, why: impl Into<String>) -> Unsatisfiable {
    Unsatisfiable {
        path: path.to_string(),
        why: why.into(),
    }
}

/// Nesting beyond which optional properties and array items beyond the minimum are left out.
const MAX_DEPTH: usize = 6;

/// Arguments valid against `schema`, deterministic in `seed`; different `seed`s give different
/// values wherever the schema leaves room (strings, numbers, enums).
pub fn generate(schema: &Value, seed: u64) -> Result<Value, Unsatisfiable> {
    let mut walk = Walk {
        root: schema,
        seed,
        refs: Vec::new(),
        counter: 0,
    };
    let value = walk.value(schema, "", 0, "arg")?;
    check(schema, &value)?;
    Ok(value)
}

/// Whether `value` fits `schema`: the first misfit, with the schema path and the instance path
/// in its message.
pub fn check(schema: &Value, value: &Value) -> Result<(), Unsatisfiable> {
    crate::fit::first_misfit(schema, value).map_or(Ok(()), |m| {
        Err(unsat(
            &m.schema_path,
            format!("the value at {} does not fit: {}", m.at(), m.message),
        ))
    })
}

struct Walk<'a> {
    root: &'a Value,
    seed: u64,
    /// The `$ref`s being expanded (a cycle through required members cannot end).
    refs: Vec<String>,
    /// Bumped for every leaf, so that leaves of one call differ from each other too.
    counter: u64,
}

impl<'a> Walk<'a> {
    fn draw(&mut self) -> u64 {
        self.counter += 1;
        // SplitMix64 of (seed, counter): cheap, well spread, stable forever.
        let mut z = self
            .seed
            .wrapping_add(self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn resolve(&self, reference: &str, path: &str) -> Result<&'a Value, Unsatisfiable> {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(unsat(
                path,
                format!(
                    "`$ref` {reference:?} points outside the schema (only local `#/…` references are followed)"
                ),
            ));
        };
        self.root
            .pointer(pointer)
            .ok_or_else(|| unsat(path, format!("`$ref` {reference:?} points at nothing")))
    }

    fn value(
        &mut self,
        schema: &Value,
        path: &str,
        depth: usize,
        hint: &str,
    ) -> Result<Value, Unsatisfiable> {
        let obj = match schema {
            Value::Bool(true) => return Ok(Value::String(self.text(hint))),
            Value::Bool(false) => return Err(unsat(path, "the schema `false` accepts no value")),
            Value::Object(o) => o,
            other => {
                return Err(unsat(
                    path,
                    format!("expected a schema object, found {other}"),
                ));
            }
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if self.refs.iter().any(|x| x == r) {
                return Err(unsat(
                    path,
                    format!("`$ref` cycle: {r} requires itself, so no finite value fits"),
                ));
            }
            let target = self.resolve(r, path)?;
            self.refs.push(r.to_string());
            let v = self.value(target, &format!("{path}/$ref"), depth, hint);
            self.refs.pop();
            return v;
        }
        if let Some(c) = obj.get("const") {
            return Ok(c.clone());
        }
        if let Some(e) = obj.get("enum") {
            let Some(options) = e.as_array().filter(|a| !a.is_empty()) else {
                return Err(unsat(
                    &format!("{path}/enum"),
                    "an empty `enum` allows no value",
                ));
            };
            let n = self.draw();
            // Prefer a non-null member: null says little about a handler.
            let non_null: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
            let pick = if non_null.is_empty() {
                &options[0]
            } else {
                non_null[(n % non_null.len() as u64) as usize]
            };
            return Ok(pick.clone());
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            let merged = self.merge_all_of(obj, all, path)?;
            return self.value(&merged, path, depth, hint);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array) {
                return self.branch(obj, key, branches, path, depth, hint);
            }
        }
        let ty = self.pick_type(obj, path)?;
        match ty.as_str() {
            "object" => self.object(obj, path, depth),
            "array" => self.array(obj, path, depth, hint),
            "string" => self.string(obj, path, hint),
            "integer" => self.number(obj, path, true),
            "number" => self.number(obj, path, false),
            "boolean" => Ok(Value::Bool(self.draw().is_multiple_of(2))),
            "null" => Ok(Value::Null),
            other => Err(unsat(
                &format!("{path}/type"),
                format!("unknown type {other:?}"),
            )),
        }
    }

    fn merge_all_of(
        &self,
        obj: &Map<String, Value>,
        all: &[Value],
        path: &str,
    ) -> Result<Value, Unsatisfiable> {
        let mut out: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "allOf")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (i, part) in all.iter().enumerate() {
            let ppath = format!("{path}/allOf/{i}");
            let mut part = part;
            if let Some(r) = part.get("$ref").and_then(Value::as_str) {
                part = self.resolve(r, &ppath)?;
            }
            let Some(p) = part.as_object() else {
                if part == &Value::Bool(false) {
                    return Err(unsat(&ppath, "the schema `false` accepts no value"));
                }
                continue;
            };
            for (k, v) in p {
                match (k.as_str(), out.get_mut(k)) {
                    ("properties", Some(Value::Object(props))) => {
                        if let Value::Object(more) = v {
                            for (pk, pv) in more {
                                props.entry(pk.clone()).or_insert_with(|| pv.clone());
                            }
                        }
                    }
                    ("required", Some(Value::Array(req))) => {
                        if let Value::Array(more) = v {
                            for r in more {
                                if !req.contains(r) {
                                    req.push(r.clone());
                                }
                            }
                        }
                    }
                    (_, Some(existing)) if existing != v => {
                        return Err(unsat(
                            &format!("{ppath}/{k}"),
                            format!("`allOf` members disagree on `{k}`: {existing} and {v}"),
                        ));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn branch(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        branches: &[Value],
        path: &str,
        depth: usize,
        hint: &str,
    ) -> Result<Value, Unsatisfiable> {
        if branches.is_empty() {
            return Err(unsat(
                &format!("{path}/{key}"),
                format!("an empty `{key}` allows no value"),
            ));
        }
        // Sibling keywords (`type`, `description`) apply to every branch; the branches are
        // tried starting from a seeded one, and the first that yields a value fitting the whole
        // schema wins.
        let start = (self.draw() % branches.len() as u64) as usize;
        let mut last = None;
        for k in 0..branches.len() {
            let i = (start + k) % branches.len();
            // Null branches (optional values) are tried last: they tell nothing.
            if branches[i].get("type") == Some(&json!("null")) && k + 1 < branches.len() {
                continue;
            }
            let bpath = format!("{path}/{key}/{i}");
            match self.value(&branches[i], &bpath, depth, hint) {
                Ok(v) => {
                    let whole = Value::Object(obj.clone());
                    if check_sub(self.root, &whole, &v) {
                        return Ok(v);
                    }
                    last = Some(unsat(
                        &bpath,
                        "the value made for this branch does not fit the rest of the schema",
                    ));
                }
                Err(e) => last = Some(e),
            }
        }
        // All non-null branches failed: a null branch, if any.
        if branches
            .iter()
            .any(|b| b.get("type") == Some(&json!("null")))
        {
            return Ok(Value::Null);
        }
        Err(last.unwrap_or_else(|| unsat(&format!("{path}/{key}"), "no branch can be satisfied")))
    }

    fn pick_type(&mut self, obj: &Map<String, Value>, path: &str) -> Result<String, Unsatisfiable> {
        match obj.get("type") {
            Some(Value::String(t)) => Ok(t.clone()),
            Some(Value::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                names
                    .iter()
                    .find(|t| **t != "null")
                    .or_else(|| names.first())
                    .map(|t| t.to_string())
                    .ok_or_else(|| {
                        unsat(
                            &format!("{path}/type"),
                            "an empty `type` list allows no value",
                        )
                    })
            }
            Some(other) => Err(unsat(
                &format!("{path}/type"),
                format!("expected a type name or a list of them, found {other}"),
            )),
            None => Ok(
                if obj.contains_key("properties") || obj.contains_key("required") {
                    "object"
                } else if obj.contains_key("items") || obj.contains_key("prefixItems") {
                    "array"
                } else if [
                    "minimum",
                    "maximum",
                    "exclusiveMinimum",
                    "exclusiveMaximum",
                    "multipleOf",
                ]
                .iter()
                .any(|k| obj.contains_key(*k))
                {
                    "number"
                } else {
                    "string"
                }
                .to_string(),
            ),
        }
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<Value, Unsatisfiable> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let props = match obj.get("properties") {
            Some(Value::Object(p)) => p,
            None => EMPTY.get_or_init(Map::new),
            Some(other) => {
                return Err(unsat(
                    &format!("{path}/properties"),
                    format!("expected an object of property schemas, found {other}"),
                ));
            }
        };
        let required: Vec<&str> = match obj.get("required") {
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let closed = obj.get("additionalProperties") == Some(&Value::Bool(false));
        let min_props = obj
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let mut out = Map::new();
        for name in &required {
            if props.contains_key(*name) {
                continue;
            }
            if closed {
                return Err(unsat(
                    &format!("{path}/required"),
                    format!(
                        "property {name:?} is required but not among `properties`, and `additionalProperties` is false"
                    ),
                ));
            }
        }
        for (name, sub) in props {
            let is_required = required.contains(&name.as_str());
            // Optional members: in about half the calls (seeded), and always when the object
            // needs more members; never deep down, where a recursive schema would not end.
            let include = is_required
                || (depth < MAX_DEPTH && (self.draw().is_multiple_of(2) || out.len() < min_props));
            if !include {
                continue;
            }
            let sub_path = format!("{path}/properties/{}", escape(name));
            match self.value(sub, &sub_path, depth + 1, name) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(e) if is_required => return Err(e),
                // An optional member that cannot be made is left out.
                Err(_) => {}
            }
        }
        for name in &required {
            if !out.contains_key(*name) {
                let extra = match obj.get("additionalProperties") {
                    Some(s @ Value::Object(_)) => {
                        self.value(s, &format!("{path}/additionalProperties"), depth + 1, name)?
                    }
                    _ => Value::String(self.text(name)),
                };
                out.insert((*name).to_string(), extra);
            }
        }
        Ok(Value::Object(out))
    }

    fn array(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        depth: usize,
        hint: &str,
    ) -> Result<Value, Unsatisfiable> {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = obj.get("maxItems").and_then(Value::as_u64);
        if let Some(max) = max
            && max < min
        {
            return Err(unsat(
                &format!("{path}/maxItems"),
                format!("maxItems ({max}) is less than minItems ({min})"),
            ));
        }
        let want = if depth >= MAX_DEPTH {
            min
        } else {
            min.max(1 + self.draw() % 2)
        };
        let n = max.map_or(want, |m| want.min(m));
        let prefix: &[Value] = obj
            .get("prefixItems")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut items = Vec::new();
        for i in 0..n as usize {
            let (sub, spath) = match prefix.get(i) {
                Some(s) => (s, format!("{path}/prefixItems/{i}")),
                None => match obj.get("items") {
                    Some(s) => (s, format!("{path}/items")),
                    None => {
                        items.push(Value::String(self.text(hint)));
                        continue;
                    }
                },
            };
            let mut item = self.value(sub, &spath, depth + 1, hint)?;
            // `uniqueItems`: redraw a repeated item a few times (a small enum may not have
            // enough members; the final check then names the keyword).
            let unique = obj.get("uniqueItems") == Some(&Value::Bool(true));
            for _ in 0..16 {
                if !unique || !items.contains(&item) {
                    break;
                }
                item = self.value(sub, &spath, depth + 1, hint)?;
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    /// A short text that differs with every draw.
    fn text(&mut self, hint: &str) -> String {
        let base: String = hint
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(16)
            .collect();
        let base = if base.is_empty() {
            "value".into()
        } else {
            base
        };
        format!("{base}-{:04x}", self.draw() & 0xffff)
    }

    fn string(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        hint: &str,
    ) -> Result<Value, Unsatisfiable> {
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        if let Some(max) = max
            && max < min
        {
            return Err(unsat(
                &format!("{path}/maxLength"),
                format!("maxLength ({max}) is less than minLength ({min})"),
            ));
        }
        if obj.contains_key("pattern") {
            // No general regex inverter: an example or default the author gave is used, else
            // the value made below is checked and the pattern named if it does not fit.
            for key in ["examples", "default"] {
                let v = match obj.get(key) {
                    Some(Value::Array(a)) => a.first(),
                    other => other,
                };
                if let Some(s @ Value::String(_)) = v {
                    return Ok(s.clone());
                }
            }
        }
        let n = self.draw();
        let mut s = match obj.get("format").and_then(Value::as_str) {
            Some("date-time") => format!("2026-01-{:02}T{:02}:00:00Z", 1 + n % 28, n % 24),
            Some("date") => format!("2026-01-{:02}", 1 + n % 28),
            Some("time") => format!("{:02}:{:02}:00Z", n % 24, n % 60),
            Some("email") => format!("user{}@example.com", n % 10_000),
            Some("uri" | "url" | "iri") => format!("https://example.com/{}", n % 10_000),
            Some("uuid") => format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff),
            Some("hostname") => format!("host{}.example.com", n % 10_000),
            Some("ipv4") => format!("10.0.{}.{}", (n >> 8) % 256, n % 256),
            Some("ipv6") => format!("2001:db8::{:x}", n & 0xffff),
            _ => self.text(hint),
        };
        while s.chars().count() < min {
            s.push('x');
        }
        if let Some(max) = max {
            // Keep the varying tail, which tells calls apart.
            let len = s.chars().count();
            if len > max {
                s = s.chars().skip(len - max).collect();
            }
        }
        Ok(Value::String(s))
    }

    fn number(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        integer: bool,
    ) -> Result<Value, Unsatisfiable> {
        let f = |k: &str| obj.get(k).and_then(Value::as_f64);
        // Draft 4 writes exclusive bounds as booleans beside minimum/maximum.
        let ex_lo_flag = obj.get("exclusiveMinimum") == Some(&Value::Bool(true));
        let ex_hi_flag = obj.get("exclusiveMaximum") == Some(&Value::Bool(true));
        let step = if integer { 1.0 } else { 0.5 };
        let lo = match (f("minimum"), f("exclusiveMinimum")) {
            (Some(m), _) if ex_lo_flag => Some(m + step),
            (a, b) => max_opt(a, b.map(|x| x + step)),
        };
        let hi = match (f("maximum"), f("exclusiveMaximum")) {
            (Some(m), _) if ex_hi_flag => Some(m - step),
            (a, b) => min_opt(a, b.map(|x| x - step)),
        };
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h),
            (Some(l), None) => (l, l + 99.0),
            (None, Some(h)) => (
                (h - 99.0).min(h).max(if h >= 1.0 { 1.0 } else { h - 99.0 }),
                h,
            ),
            (None, None) => (1.0, 100.0),
        };
        let (lo, hi) = if integer {
            (lo.ceil(), hi.floor())
        } else {
            (lo, hi)
        };
        if lo > hi {
            return Err(unsat(
                path,
                format!(
                    "no {} lies between the lower bound {lo} and the upper bound {hi}",
                    if integer { "integer" } else { "number" }
                ),
            ));
        }
        let span = (hi - lo).min(1e6);
        let n = self.draw();
        let mut v = lo + (n % (span as u64 + 1)) as f64;
        if let Some(m) = f("multipleOf").filter(|m| *m > 0.0) {
            v = (v / m).ceil() * m;
            if v > hi {
                v = (lo / m).ceil() * m;
            }
            if v > hi || v < lo {
                return Err(unsat(
                    &format!("{path}/multipleOf"),
                    format!("no multiple of {m} lies between {lo} and {hi}"),
                ));
            }
        } else if !integer && v + 0.5 <= hi && n.is_multiple_of(2) {
            v += 0.5;
        }
        Ok(if v.fract() == 0.0 {
            // A whole number is still a valid `number`; keep it an integer on the wire.
            json!(v as i64)
        } else {
            json!(v)
        })
    }
}

fn check_sub(root: &Value, schema: &Value, value: &Value) -> bool {
    // `$ref`s inside a branch point into the root document: check with the root's definitions
    // attached.
    let mut whole = schema.clone();
    if let (Value::Object(w), Value::Object(r)) = (&mut whole, root) {
        for k in ["$defs", "definitions"] {
            if let Some(d) = r.get(k) {
                w.entry(k.to_string()).or_insert_with(|| d.clone());
            }
        }
    }
    crate::fit::first_misfit(&whole, value).is_none()
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// A property name as a JSON Pointer segment.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}
