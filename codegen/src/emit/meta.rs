//! The meta-schema of channel files (`schema/channel.schema.json`), derived from the format
//! types through schemars so editors validate and complete exactly what codegen accepts.

use crate::format::ChannelFile;

/// Path of the meta-schema inside the schema directory.
pub const META_SCHEMA_FILE: &str = "channel.schema.json";

/// The meta-schema as pretty JSON.
pub fn channel_schema() -> String {
    let mut schema = schemars::schema_for!(ChannelFile);
    schema.insert("$id".into(), "urn:cableway:channel-file".into());
    schema.insert("title".into(), "Cableway channel file".into());
    super::pretty_json(&schema.to_value())
}
