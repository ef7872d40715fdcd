#[test]
fn dump() {
    let mut out = Vec::new();
    for c in cableway::channels::REGISTRY {
        out.push(serde_json::json!({"label": format!("{}/params", c.name), "schema": serde_json::from_str::<serde_json::Value>(c.params_schema).unwrap()}));
        for e in c.events {
            out.push(serde_json::json!({"label": format!("{}/event/{}", c.name, e.name), "schema": serde_json::from_str::<serde_json::Value>(e.payload_schema).unwrap()}));
            out.push(serde_json::json!({"label": format!("{}/envelope/{}", c.name, e.name), "schema": serde_json::from_str::<serde_json::Value>(e.envelope_schema).unwrap()}));
        }
        for a in c.actions {
            out.push(serde_json::json!({"label": format!("{}/request/{}", c.name, a.name), "schema": serde_json::from_str::<serde_json::Value>(a.request_schema).unwrap()}));
            if let Some(r) = a.reply_schema {
                out.push(serde_json::json!({"label": format!("{}/reply/{}", c.name, a.name), "schema": serde_json::from_str::<serde_json::Value>(r).unwrap()}));
            }
        }
    }
    std::fs::write("/tmp/dump/schemas.json", serde_json::to_string_pretty(&out).unwrap()).unwrap();
}
