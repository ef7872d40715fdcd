//! The client frame parser: any text frame parses or is refused with a known code, never
//! panics; a parsed command, written back as a frame, parses to the same command.
#![no_main]

use cableway::protocol::command::{parse, Command};
use cableway::protocol::identifier;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let command = match parse(text) {
        Ok(c) => c,
        Err(e) => {
            assert!(["not_json", "not_an_object", "no_command", "unknown_command", "no_identifier", "bad_data", "bad_history"].contains(&e.kind()), "{e:?}");
            return;
        }
    };
    // The identifier of any command goes through the identifier parser next; it must not panic.
    let again = match &command {
        Command::Subscribe { identifier: id, history } => {
            let _ = identifier::parse(id);
            if history.is_some() {
                return; // history is not re-encoded (it has no serializer)
            }
            json!({"command": "subscribe", "identifier": id})
        }
        Command::Unsubscribe { identifier: id } => json!({"command": "unsubscribe", "identifier": id}),
        Command::Message { identifier: id, data } => json!({"command": "message", "identifier": id, "data": data.to_string()}),
        Command::Whisper { identifier: id, data } => json!({"command": "whisper", "identifier": id, "data": data}),
        Command::History { .. } => return,
        Command::Pong => json!({"command": "pong"}),
    };
    assert_eq!(parse(&again.to_string()).as_ref(), Ok(&command), "re-encoded as {again}");
});
