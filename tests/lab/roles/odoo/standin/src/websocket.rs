//! An open websocket session: echo text and binary messages (reassembling fragments),
//! answer pings, and complete the closing handshake.

use std::io::{Read, Write};

use crate::frame::{
    FrameError, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_CONTINUATION, OPCODE_PING, OPCODE_PONG,
    OPCODE_TEXT, read_frame, write_close, write_frame,
};

/// Largest message accepted, like Odoo's websocket (1 MiB); larger ones close with 1009.
pub const MAX_MESSAGE_BYTES: u64 = 1024 * 1024;

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer sent a close frame with this code (1005 when it had none).
    ClosedByPeer(u16),
    /// The session was closed for a protocol violation with this code.
    ProtocolError(u16),
    /// The connection dropped or timed out.
    Disconnected,
}

/// Runs the session until it ends; returns how, and how many messages were echoed.
pub fn run_session(reader: &mut impl Read, writer: &mut impl Write) -> (SessionEnd, u64) {
    let mut echoed = 0u64;
    let mut fragments: Option<(u8, Vec<u8>)> = None;
    loop {
        let frame = match read_frame(reader, MAX_MESSAGE_BYTES) {
            Ok(frame) => frame,
            Err(error) => return (fail(writer, &error), echoed),
        };
        let message = match frame.opcode {
            OPCODE_TEXT | OPCODE_BINARY if fragments.is_some() => {
                return (
                    protocol_error(writer, 1002, "new message before the fragmented one ended"),
                    echoed,
                );
            }
            OPCODE_TEXT | OPCODE_BINARY if frame.fin => Some((frame.opcode, frame.payload)),
            OPCODE_TEXT | OPCODE_BINARY => {
                fragments = Some((frame.opcode, frame.payload));
                None
            }
            OPCODE_CONTINUATION => {
                let Some((opcode, mut buffer)) = fragments.take() else {
                    return (
                        protocol_error(writer, 1002, "continuation without a message"),
                        echoed,
                    );
                };
                if buffer.len() as u64 + frame.payload.len() as u64 > MAX_MESSAGE_BYTES {
                    return (protocol_error(writer, 1009, "message too big"), echoed);
                }
                buffer.extend_from_slice(&frame.payload);
                if frame.fin {
                    Some((opcode, buffer))
                } else {
                    fragments = Some((opcode, buffer));
                    None
                }
            }
            OPCODE_PING => {
                if write_frame(writer, OPCODE_PONG, &frame.payload).is_err() {
                    return (SessionEnd::Disconnected, echoed);
                }
                None
            }
            OPCODE_CLOSE => return (answer_close(writer, &frame.payload), echoed),
            _ => None,
        };
        if let Some((opcode, payload)) = message {
            if opcode == OPCODE_TEXT && std::str::from_utf8(&payload).is_err() {
                return (
                    protocol_error(writer, 1007, "text message is not UTF-8"),
                    echoed,
                );
            }
            if write_frame(writer, opcode, &payload).is_err() {
                return (SessionEnd::Disconnected, echoed);
            }
            echoed += 1;
        }
    }
}

fn fail(writer: &mut impl Write, error: &FrameError) -> SessionEnd {
    match error.close_code() {
        Some(code) => protocol_error(writer, code, error.reason()),
        None => SessionEnd::Disconnected,
    }
}

fn protocol_error(writer: &mut impl Write, code: u16, reason: &str) -> SessionEnd {
    let _ = write_close(writer, code, reason);
    SessionEnd::ProtocolError(code)
}

/// Echoes the peer's close code (RFC 6455 section 5.5.1).
fn answer_close(writer: &mut impl Write, payload: &[u8]) -> SessionEnd {
    let code = match payload {
        [high, low, ..] => u16::from_be_bytes([*high, *low]),
        _ => 1005,
    };
    let _ = if code == 1005 {
        write_frame(writer, OPCODE_CLOSE, &[])
    } else {
        write_close(writer, code, "")
    };
    SessionEnd::ClosedByPeer(code)
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::{SessionEnd, run_session};

    fn masked(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [9u8, 8, 7, 6];
        let mut out = vec![first_byte, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[test]
    fn echoes_then_closes() {
        let mut input = masked(0x81, b"{\"event_name\": \"subscribe\"}");
        input.extend(masked(0x01, b"hel"));
        input.extend(masked(0x89, b"p"));
        input.extend(masked(0x80, b"lo"));
        input.extend(masked(0x88, &1000u16.to_be_bytes()));
        let mut output = Vec::new();
        let (end, echoed) = run_session(&mut &input[..], &mut output);
        assert_eq!((end, echoed), (SessionEnd::ClosedByPeer(1000), 2));
        let mut expected = vec![0x81, 27];
        expected.extend_from_slice(b"{\"event_name\": \"subscribe\"}");
        expected.extend_from_slice(&[0x8A, 1, b'p', 0x81, 5]);
        expected.extend_from_slice(b"hello");
        expected.extend_from_slice(&[0x88, 2, 0x03, 0xE8]);
        assert_eq!(output, expected);
    }

    #[test]
    fn bad_input_closes_with_a_code() {
        let mut output = Vec::new();
        let (end, _) = run_session(&mut &masked(0x81, &[0xFF, 0xFE])[..], &mut output);
        assert_eq!(end, SessionEnd::ProtocolError(1007));
        let (end, _) = run_session(&mut &[0x81u8, 0x01, b'x'][..], &mut Vec::new());
        assert_eq!(end, SessionEnd::ProtocolError(1002));
        let (end, _) = run_session(&mut &masked(0x80, b"x")[..], &mut Vec::new());
        assert_eq!(end, SessionEnd::ProtocolError(1002));
        let (end, _) = run_session(&mut &b""[..], &mut Vec::new());
        assert_eq!(end, SessionEnd::Disconnected);
    }
}
