//! Links between replicas: a sync session at each end and the messages on the wire, which a
//! step delivers, loses, repeats, damages, or hands to a session it was not meant for.

use super::run::{COLLECTION, DOCS, Delivery, Replica, StepError};
use crate::{AutomergeBackend, ReplicationError, StorageBackend, SyncSession};

/// The most late messages kept: enough for every kind of late message to arrive, bounded so
/// that a long input does not carry every message it ever sent.
const LATE: usize = 32;

/// A sync session between replicas `a` and `b` and the messages on the wire.
pub(super) struct Link {
    a: usize,
    b: usize,
    sessions: [SyncSession; 2],
    /// Messages in flight: `true` when going to `b`.
    wire: Vec<(bool, Vec<u8>)>,
    /// A session of the link took a late or misaddressed first message as its peer's: it
    /// talks to a session that is gone, so the two sides refuse each other's messages.
    stalled: bool,
}

/// A message of a session its link dropped (for new ones, or when an end lost power), which
/// may still arrive: as a network delivers late what a stalled connection had sent.
pub(super) struct Late {
    a: usize,
    b: usize,
    to_b: bool,
    message: Vec<u8>,
}

impl Link {
    fn new(replicas: &[Replica], a: usize, b: usize) -> Self {
        Link {
            a,
            b,
            sessions: [
                replicas[a].store.sync_session(),
                replicas[b].store.sync_session(),
            ],
            wire: Vec::new(),
            stalled: false,
        }
    }

    /// The session and replica at one end: the receiving end of a message going `to_b`.
    fn end(&self, to_b: bool) -> (usize, usize) {
        if to_b { (1, self.b) } else { (0, self.a) }
    }

    /// New sessions at both ends; what was on the wire goes to `late`.
    fn restart(&mut self, late: &mut Vec<Late>, replicas: &[Replica]) {
        for (to_b, message) in self.wire.drain(..) {
            if late.len() == LATE {
                late.remove(0);
            }
            late.push(Late {
                a: self.a,
                b: self.b,
                to_b,
                message,
            });
        }
        *self = Link::new(replicas, self.a, self.b);
    }

    /// Hands `message` to the session at its receiving end; whether the link was stalled (the
    /// message refused as of another session, or from another peer) and started new sessions,
    /// as a replica does with a stalled one.
    fn receive(
        &mut self,
        late: &mut Vec<Late>,
        replicas: &[Replica],
        to_b: bool,
        message: &[u8],
    ) -> Result<bool, StepError> {
        let (side, replica) = self.end(to_b);
        match self.sessions[side].receive(&replicas[replica].store, message) {
            Ok(()) => Ok(false),
            Err(ReplicationError::Sync { .. }) if self.stalled => {
                self.restart(late, replicas);
                Ok(true)
            }
            Err(e) => Err(StepError::Failed(replica, e)),
        }
    }
}

/// The link numbered `which` among every unordered pair of replicas, made when first used.
fn link<'a>(links: &'a mut Vec<Link>, replicas: &[Replica], which: usize) -> &'a mut Link {
    let count = replicas.len();
    let pairs: Vec<(usize, usize)> = (0..count)
        .flat_map(|a| (a + 1..count).map(move |b| (a, b)))
        .collect();
    let (a, b) = pairs[which % pairs.len()];
    between(links, replicas, a, b)
}

/// The link between replicas `a` < `b`, made when first used.
fn between<'a>(links: &'a mut Vec<Link>, replicas: &[Replica], a: usize, b: usize) -> &'a mut Link {
    let at = match links.iter().position(|l| (l.a, l.b) == (a, b)) {
        Some(at) => at,
        None => {
            links.push(Link::new(replicas, a, b));
            links.len() - 1
        }
    };
    &mut links[at]
}

/// One side of a link (the other, if that one has nothing to say) puts its next message on
/// the wire; whether either had one.
pub(super) fn send(
    links: &mut Vec<Link>,
    replicas: &[Replica],
    which: usize,
    arg: u8,
) -> Result<bool, StepError> {
    let link = link(links, replicas, which);
    for from_a in [arg & 1 == 0, arg & 1 == 1] {
        let (side, replica) = link.end(!from_a);
        if let Some(message) = link.sessions[side]
            .next_message(&replicas[replica].store)
            .map_err(|e| StepError::Failed(replica, e))?
        {
            link.wire.push((from_a, message));
            return Ok(true);
        }
    }
    Ok(false)
}

/// A message on a link's wire (any of them, not only the oldest) is delivered, or lost, or
/// delivered and kept to arrive again, or damaged.
pub(super) fn deliver(
    links: &mut Vec<Link>,
    late: &mut Vec<Late>,
    replicas: &[Replica],
    which: usize,
    arg: u8,
) -> Result<Delivery, StepError> {
    let link = link(links, replicas, which);
    if link.wire.is_empty() {
        return Ok(Delivery::None);
    }
    let at = usize::from(arg >> 3) % link.wire.len();
    let (delivery, (to_b, message)) = match arg & 7 {
        0..=4 => (Delivery::Delivered, link.wire.remove(at)),
        5 => {
            link.wire.remove(at);
            return Ok(Delivery::Lost);
        }
        6 => (Delivery::Repeated, link.wire[at].clone()),
        _ => {
            let (to_b, mut message) = link.wire.remove(at);
            let flip = (usize::from(arg) * 31) % message.len();
            message[flip] ^= 0x5a;
            return damaged(link, late, replicas, to_b, &message).map(|()| Delivery::Refused);
        }
    };
    if link.receive(late, replicas, to_b, &message)? {
        return Ok(Delivery::Stalled);
    }
    Ok(delivery)
}

/// A damaged message must be refused whole, storing nothing; the session is then over, and
/// the link starts new ones.
fn damaged(
    link: &mut Link,
    late: &mut Vec<Late>,
    replicas: &[Replica],
    to_b: bool,
    message: &[u8],
) -> Result<(), StepError> {
    let (side, replica) = link.end(to_b);
    let store = &replicas[replica].store;
    let before = state(store, replica)?;
    match link.sessions[side].receive(store, message) {
        Err(ReplicationError::Sync { .. } | ReplicationError::ChangeRefused { .. })
            if state(store, replica)? == before => {}
        Err(ReplicationError::Sync { .. } | ReplicationError::ChangeRefused { .. }) => {
            return Err(StepError::Violation(format!(
                "replica {replica} refused a damaged message but stored changes from it"
            )));
        }
        Ok(()) => {
            return Err(StepError::Violation(format!(
                "replica {replica} accepted a damaged message"
            )));
        }
        Err(other) => return Err(StepError::Failed(replica, other)),
    }
    link.restart(late, replicas);
    Ok(())
}

/// Both sides of a link send their next message, and it arrives: how many were sent, and how
/// many delivered.
pub(super) fn exchange(
    links: &mut Vec<Link>,
    late: &mut Vec<Late>,
    replicas: &[Replica],
    which: usize,
) -> Result<(usize, usize), StepError> {
    let (mut sent, mut delivered) = (0, 0);
    for arg in [0, 1] {
        sent += usize::from(send(links, replicas, which, arg)?);
        let link = link(links, replicas, which);
        if let Some((to_b, message)) = link.wire.pop() {
            delivered += 1;
            if link.receive(late, replicas, to_b, &message)? {
                break;
            }
        }
    }
    Ok((sent, delivered))
}

/// The link drops its sessions for new ones, as a replica does with a stalled session; what
/// was on its wire may still arrive.
pub(super) fn new_sessions(
    links: &mut Vec<Link>,
    late: &mut Vec<Late>,
    replicas: &[Replica],
    which: usize,
) {
    link(links, replicas, which).restart(late, replicas);
}

/// Replica `r` lost power and reopened: every link it was on starts new sessions (the old
/// ones belong to the dead open).
pub(super) fn after_crash(
    links: &mut [Link],
    late: &mut Vec<Late>,
    replicas: &[Replica],
    r: usize,
) {
    for link in links.iter_mut().filter(|l| l.a == r || l.b == r) {
        link.restart(late, replicas);
    }
}

/// A message reaches a session it was not meant for: a late one of the link's earlier
/// sessions arrives in its current one (`arg & 3` 1 or 3), or one on the link's wire is
/// handed, as well, to a third replica, from the same sender (2). It must be refused, storing
/// nothing, or taken as a first message (a late first message names no session of the
/// receiver's): never as an answer, which [`check_converged`](super::verdict::check_converged)
/// would find in documents marked as held by a peer that never got them.
pub(super) fn misdeliver(
    links: &mut Vec<Link>,
    late: &[Late],
    replicas: &[Replica],
    which: usize,
    arg: u8,
) -> Result<Delivery, StepError> {
    let link = link(links, replicas, which);
    let (a, b) = (link.a, link.b);
    let pick = usize::from(arg >> 2);
    // The link it arrives on, whether it goes to the higher-numbered end, and the message.
    let ((low, high), to_high, message) = if arg & 3 == 2 {
        if link.wire.is_empty() {
            return Ok(Delivery::None);
        }
        let (to_b, message) = link.wire[pick % link.wire.len()].clone();
        let sender = if to_b { a } else { b };
        let others: Vec<usize> = (0..replicas.len()).filter(|&c| c != a && c != b).collect();
        if others.is_empty() {
            return Ok(Delivery::None);
        }
        let other = others[(pick >> 3) % others.len()];
        (
            (sender.min(other), sender.max(other)),
            other > sender,
            message,
        )
    } else {
        let mine: Vec<&Late> = late.iter().filter(|l| (l.a, l.b) == (a, b)).collect();
        if mine.is_empty() {
            return Ok(Delivery::None);
        }
        let stale = mine[pick % mine.len()];
        ((a, b), stale.to_b, stale.message.clone())
    };
    let link = between(links, replicas, low, high);
    let (side, replica) = link.end(to_high);
    let store = &replicas[replica].store;
    let before = state(store, replica)?;
    match link.sessions[side].receive(store, &message) {
        Ok(()) => link.stalled = true,
        Err(ReplicationError::Sync { .. }) if state(store, replica)? == before => {}
        Err(ReplicationError::Sync { .. }) => {
            return Err(StepError::Violation(format!(
                "replica {replica} refused a message of another session but stored changes \
                 from it"
            )));
        }
        Err(other) => return Err(StepError::Failed(replica, other)),
    }
    Ok(Delivery::Misdelivered)
}

/// What a store shows of every document: heads and value.
type State = Vec<(Vec<automerge::ChangeHash>, Option<Vec<u8>>)>;

/// Reads the collection only where it exists: asking for it would create it, a write.
pub(super) fn state(store: &AutomergeBackend, replica: usize) -> Result<State, StepError> {
    let docs = (store.list_collections().iter().any(|c| c == COLLECTION))
        .then(|| store.collection(COLLECTION));
    DOCS.iter()
        .map(|id| {
            let value = match &docs {
                Some(docs) => docs.get(id)?,
                None => None,
            };
            Ok((store.heads(COLLECTION, id)?, value))
        })
        .collect::<crate::Result<_>>()
        .map_err(|e| StepError::Failed(replica, e.into()))
}
