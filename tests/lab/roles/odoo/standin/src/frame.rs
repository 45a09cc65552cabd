//! WebSocket frames (RFC 6455 section 5): read a client frame (masked), write a server frame
//! (unmasked).

use std::io::{self, Read, Write};

pub const OPCODE_CONTINUATION: u8 = 0x0;
pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_BINARY: u8 = 0x2;
pub const OPCODE_CLOSE: u8 = 0x8;
pub const OPCODE_PING: u8 = 0x9;
pub const OPCODE_PONG: u8 = 0xA;

/// One frame as received, payload already unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Why a frame could not be read; the protocol variants carry the close code to send.
#[derive(Debug)]
pub enum FrameError {
    Io,
    Protocol(&'static str),
    TooLarge,
}

impl FrameError {
    /// Why the session is being closed, for the close frame.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::Io => "",
            FrameError::Protocol(reason) => reason,
            FrameError::TooLarge => "message too big",
        }
    }

    /// Close code for the peer (1002 protocol error, 1009 message too big); `None` for I/O.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            FrameError::Io => None,
            FrameError::Protocol(_) => Some(1002),
            FrameError::TooLarge => Some(1009),
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(_: io::Error) -> FrameError {
        FrameError::Io
    }
}

/// Reads one client frame of at most `max_payload` bytes.
pub fn read_frame(reader: &mut impl Read, max_payload: u64) -> Result<Frame, FrameError> {
    let mut header = [0u8; 2];
    reader.read_exact(&mut header)?;
    let fin = header[0] & 0x80 != 0;
    if header[0] & 0x70 != 0 {
        return Err(FrameError::Protocol(
            "reserved bits set without a negotiated extension",
        ));
    }
    let opcode = header[0] & 0x0F;
    if !matches!(
        opcode,
        OPCODE_CONTINUATION
            | OPCODE_TEXT
            | OPCODE_BINARY
            | OPCODE_CLOSE
            | OPCODE_PING
            | OPCODE_PONG
    ) {
        return Err(FrameError::Protocol("unknown opcode"));
    }
    if header[1] & 0x80 == 0 {
        return Err(FrameError::Protocol("client frames must be masked"));
    }
    let length = match header[1] & 0x7F {
        126 => {
            let mut bytes = [0u8; 2];
            reader.read_exact(&mut bytes)?;
            u64::from(u16::from_be_bytes(bytes))
        }
        127 => {
            let mut bytes = [0u8; 8];
            reader.read_exact(&mut bytes)?;
            u64::from_be_bytes(bytes)
        }
        short => u64::from(short),
    };
    if opcode >= OPCODE_CLOSE && (length > 125 || !fin) {
        return Err(FrameError::Protocol(
            "control frames must be final and at most 125 bytes",
        ));
    }
    if length > max_payload {
        return Err(FrameError::TooLarge);
    }
    let mut mask = [0u8; 4];
    reader.read_exact(&mut mask)?;
    let mut payload = vec![0u8; usize::try_from(length).map_err(|_| FrameError::TooLarge)?];
    reader.read_exact(&mut payload)?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    Ok(Frame {
        fin,
        opcode,
        payload,
    })
}

/// Writes one final, unmasked frame.
pub fn write_frame(writer: &mut impl Write, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = Vec::with_capacity(10);
    head.push(0x80 | opcode);
    match payload.len() {
        short @ 0..=125 => head.push(u8::try_from(short).unwrap_or(125)),
        medium @ 126..=0xFFFF => {
            head.push(126);
            head.extend_from_slice(&u16::try_from(medium).unwrap_or(u16::MAX).to_be_bytes());
        }
        long => {
            head.push(127);
            head.extend_from_slice(&(long as u64).to_be_bytes());
        }
    }
    writer.write_all(&head)?;
    writer.write_all(payload)?;
    writer.flush()
}

/// Writes a close frame with `code` and a short reason.
pub fn write_close(writer: &mut impl Write, code: u16, reason: &str) -> io::Result<()> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(
        reason
            .as_bytes()
            .get(..reason.len().min(123))
            .unwrap_or_default(),
    );
    write_frame(writer, OPCODE_CLOSE, &payload)
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::{Frame, FrameError, OPCODE_TEXT, read_frame, write_frame};

    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut out = vec![0x80 | opcode];
        if payload.len() < 126 {
            out.push(0x80 | payload.len() as u8);
        } else {
            out.push(0xFE);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[test]
    fn reads_masked_frames() {
        let frame = read_frame(&mut &masked(OPCODE_TEXT, b"hello")[..], 1024).unwrap();
        assert_eq!(
            frame,
            Frame {
                fin: true,
                opcode: OPCODE_TEXT,
                payload: b"hello".to_vec()
            }
        );
        let long = vec![b'x'; 300];
        assert_eq!(
            read_frame(&mut &masked(OPCODE_TEXT, &long)[..], 1024)
                .unwrap()
                .payload,
            long
        );
    }

    #[test]
    fn rejects_bad_frames() {
        assert!(matches!(
            read_frame(&mut &[0x81u8, 0x05, b'h'][..], 1024),
            Err(FrameError::Protocol(_))
        ));
        assert!(matches!(
            read_frame(&mut &[0xF1u8, 0x80, 0, 0, 0, 0][..], 1024),
            Err(FrameError::Protocol(_))
        ));
        assert!(matches!(
            read_frame(&mut &masked(OPCODE_TEXT, &[0; 300])[..], 100),
            Err(FrameError::TooLarge)
        ));
        assert!(matches!(
            read_frame(&mut &[0x81u8, 0x85, 1][..], 1024),
            Err(FrameError::Io)
        ));
        let ping_too_long = masked(0x9, &[0; 200]);
        assert!(matches!(
            read_frame(&mut &ping_too_long[..], 1024),
            Err(FrameError::Protocol(_))
        ));
    }

    #[test]
    fn writes_unmasked_frames() {
        let mut out = Vec::new();
        write_frame(&mut out, OPCODE_TEXT, b"hi").unwrap();
        assert_eq!(out, [0x81, 0x02, b'h', b'i']);
        out.clear();
        write_frame(&mut out, OPCODE_TEXT, &[0; 200]).unwrap();
        assert_eq!(&out[..4], &[0x81, 126, 0, 200]);
    }
}
