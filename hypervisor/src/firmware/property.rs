//! Messages of the Raspberry Pi firmware's mailbox property interface:
//! a buffer of little-endian words, one tag per request here. Pure, so
//! that the encoding is tested on the host.

/// Tag "get clock rate": in, the firmware's clock ID; out, the ID and the
/// rate in Hz.
const TAG_GET_CLOCK_RATE: u32 = 0x0003_0002;
/// Word 1 of a request, and of a reply the firmware processed.
const PROCESS_REQUEST: u32 = 0;
const REPLY_SUCCESS: u32 = 0x8000_0000;
/// A tag's request/response word: set by the firmware when it answered the
/// tag, with the value's length in the low bits.
const TAG_RESPONSE: u32 = 1 << 31;
const TAG_VALUE_LENGTH_MASK: u32 = !TAG_RESPONSE;
/// Bytes of the clock-rate tag's value buffer: ID and rate.
const CLOCK_RATE_VALUE_BYTES: u32 = 8;
const END_TAG: u32 = 0;

/// Words of a one-tag clock-rate message.
pub const CLOCK_RATE_WORDS: usize = 8;
/// Where the words of the clock-rate message are.
const SIZE_WORD: usize = 0;
const CODE_WORD: usize = 1;
const TAG_WORD: usize = 2;
const TAG_RESPONSE_WORD: usize = 4;
const CLOCK_ID_WORD: usize = 5;
const RATE_WORD: usize = 6;

/// A clock-rate message, request then reply.
pub type ClockRateMessage = [u32; CLOCK_RATE_WORDS];

/// Why a reply does not give the rate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PropertyError {
    /// The firmware did not process the buffer (its code word).
    NotProcessed { code: u32 },
    /// It processed the buffer but not the tag (unknown to this firmware).
    TagNotAnswered,
    /// The reply is about another clock.
    OtherClock { asked: u32, answered: u32 },
    /// The firmware reports the clock as not running (rate 0).
    Stopped,
}

impl core::fmt::Display for PropertyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotProcessed { code } => {
                write!(
                    f,
                    "the firmware did not process the request (code {code:#x})"
                )
            }
            Self::TagNotAnswered => write!(f, "the firmware did not answer the clock-rate tag"),
            Self::OtherClock { asked, answered } => {
                write!(
                    f,
                    "asked for clock {asked}, the reply is about clock {answered}"
                )
            }
            Self::Stopped => write!(f, "the clock is not running"),
        }
    }
}

/// The request for the rate of the firmware's clock `clock_id`.
pub fn clock_rate_request(clock_id: u32) -> ClockRateMessage {
    let mut message = [0; CLOCK_RATE_WORDS];
    message[SIZE_WORD] = (CLOCK_RATE_WORDS * size_of::<u32>()) as u32;
    message[CODE_WORD] = PROCESS_REQUEST;
    message[TAG_WORD] = TAG_GET_CLOCK_RATE;
    message[TAG_WORD + 1] = CLOCK_RATE_VALUE_BYTES;
    message[TAG_RESPONSE_WORD] = 0;
    message[CLOCK_ID_WORD] = clock_id;
    message[RATE_WORD] = 0;
    message[CLOCK_RATE_WORDS - 1] = END_TAG;
    message
}

/// The rate in Hz the firmware's `reply` gives for `clock_id`.
pub fn clock_rate(reply: &ClockRateMessage, clock_id: u32) -> Result<u32, PropertyError> {
    if reply[CODE_WORD] != REPLY_SUCCESS {
        return Err(PropertyError::NotProcessed {
            code: reply[CODE_WORD],
        });
    }
    let response = reply[TAG_RESPONSE_WORD];
    if response & TAG_RESPONSE == 0 || response & TAG_VALUE_LENGTH_MASK < CLOCK_RATE_VALUE_BYTES {
        return Err(PropertyError::TagNotAnswered);
    }
    if reply[CLOCK_ID_WORD] != clock_id {
        return Err(PropertyError::OtherClock {
            asked: clock_id,
            answered: reply[CLOCK_ID_WORD],
        });
    }
    match reply[RATE_WORD] {
        0 => Err(PropertyError::Stopped),
        rate => Ok(rate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMMC2: u32 = 12;

    /// What the firmware makes of a request: success, the tag answered
    /// with 8 bytes, the rate filled in.
    fn answered(clock_id: u32, rate: u32) -> ClockRateMessage {
        let mut reply = clock_rate_request(clock_id);
        reply[CODE_WORD] = REPLY_SUCCESS;
        reply[TAG_RESPONSE_WORD] = TAG_RESPONSE | CLOCK_RATE_VALUE_BYTES;
        reply[RATE_WORD] = rate;
        reply
    }

    #[test]
    fn request_layout() {
        assert_eq!(
            clock_rate_request(EMMC2),
            [32, 0, 0x0003_0002, 8, 0, EMMC2, 0, 0]
        );
    }

    #[test]
    fn reply_gives_the_rate() {
        assert_eq!(
            clock_rate(&answered(EMMC2, 100_000_000), EMMC2),
            Ok(100_000_000)
        );
    }

    #[test]
    fn replies_that_give_no_rate() {
        let request = clock_rate_request(EMMC2);
        assert_eq!(
            clock_rate(&request, EMMC2),
            Err(PropertyError::NotProcessed { code: 0 })
        );
        let mut unanswered = answered(EMMC2, 100_000_000);
        unanswered[TAG_RESPONSE_WORD] = 0;
        assert_eq!(
            clock_rate(&unanswered, EMMC2),
            Err(PropertyError::TagNotAnswered)
        );
        assert_eq!(
            clock_rate(&answered(1, 50_000_000), EMMC2),
            Err(PropertyError::OtherClock {
                asked: EMMC2,
                answered: 1
            })
        );
        assert_eq!(
            clock_rate(&answered(EMMC2, 0), EMMC2),
            Err(PropertyError::Stopped)
        );
    }
}
