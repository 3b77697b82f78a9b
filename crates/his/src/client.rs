//! [`Client`]: messages wrapped in the client's envelope, sent through its transport, replies
//! parsed.

use crate::envelope::{Envelope, MsgidSource, NationalMsgids};
use crate::reply::{HisError, Reply};
use crate::steps::Message;
use crate::transport::Transport;

/// A HIS client: a transport, the sender's envelope fields and a source of fresh msgids (which may
/// borrow for `'m`).
pub struct Client<'m, T> {
    transport: T,
    envelope: Envelope,
    msgids: Box<dyn MsgidSource + Send + Sync + 'm>,
}

impl<'m, T: Transport> Client<'m, T> {
    /// A client sending through `transport` in `envelope`, with national msgids
    /// ([`NationalMsgids`]) until [`Client::with_msgids`] says otherwise.
    pub fn new(transport: T, envelope: Envelope) -> Client<'m, T> {
        Client {
            transport,
            envelope,
            msgids: Box::new(NationalMsgids::default()),
        }
    }

    /// The same client taking its fresh msgids from `msgids` (e.g. a closure of `fixmedins_code`).
    pub fn with_msgids(mut self, msgids: impl MsgidSource + Send + Sync + 'm) -> Client<'m, T> {
        self.msgids = Box::new(msgids);
        self
    }

    /// The envelope fields, to change between messages (e.g. a replay's `inf_time`).
    pub fn envelope_mut(&mut self) -> &mut Envelope {
        &mut self.envelope
    }

    /// Sends `message` with a fresh msgid; its reply if it succeeded.
    pub async fn send(&self, message: &Message) -> Result<Reply, HisError> {
        let msgid = self.msgids.next_msgid(&message.fixmedins_code);
        self.send_as(message, &msgid).await
    }

    /// Sends `message` with the given `msgid` (e.g. again, to see the stored reply); its reply if
    /// it succeeded.
    pub async fn send_as(&self, message: &Message, msgid: &str) -> Result<Reply, HisError> {
        let body = self.envelope.body(
            message.infno,
            msgid,
            &message.fixmedins_code,
            &message.input,
        );
        let text = self
            .transport
            .send(body)
            .await
            .map_err(|source| HisError::Transport {
                infno: message.infno,
                source,
            })?;
        Reply::parse(message.infno, msgid, text)?.accepted()
    }
}
