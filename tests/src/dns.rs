//! A loopback DNS server whose answers tests change while it runs.
//!
//! It implements hickory-server's `RequestHandler` over a shared table instead of using the
//! in-memory zone, because tests need behaviours a zone cannot give: one rotating answer per
//! query (Aurora reader endpoints, rotating or at random), SERVFAIL, silence, a query counter,
//! and a caching mode that repeats an answer for its TTL like Lambda's VPC resolver.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use hickory_proto::{
    op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode},
    rr::{
        rdata::{A, CNAME},
        Name, RData, Record, RecordType,
    },
};
use hickory_server::{
    net::runtime::Time,
    server::{Request, RequestHandler, ResponseHandler, ResponseInfo},
    zone_handler::MessageResponseBuilder,
    Server,
};
use tokio::net::{TcpListener, UdpSocket};

/// TTL of every answer, in seconds: RDS endpoints use 5 s.
pub const TTL: u32 = 5;

/// Longest CNAME chain followed before answering SERVFAIL (guards against loops).
const MAX_CHAIN: usize = 8;

/// How the server reacts to every query, whatever the name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Answer from the table.
    #[default]
    Normal,
    /// Answer SERVFAIL, like a broken upstream resolver.
    ServFail,
    /// Never answer, so clients time out.
    Drop,
}

/// What the table holds for one name.
#[derive(Clone, Debug)]
enum Entry {
    A(Vec<Ipv4Addr>),
    Cname(Name),
    RoundRobin {
        ips: Vec<Ipv4Addr>,
        next: usize,
    },
    /// `per_answer` distinct addresses of `ips`, chosen at random for each query.
    Random {
        ips: Vec<Ipv4Addr>,
        per_answer: usize,
    },
    Empty,
}

/// One answer kept by the caching mode: when it was made, its code and records.
type Cached = (Instant, ResponseCode, Vec<Record>);

#[derive(Debug)]
struct Table {
    entries: HashMap<String, Entry>,
    mode: Mode,
    /// `Some(ttl)`: repeat each answer for `ttl` (the resolver cache); `None`: answer afresh.
    cache_ttl: Option<Duration>,
    cache: HashMap<(String, RecordType), Cached>,
    /// xorshift64 state for [`Entry::Random`].
    rng: u64,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            mode: Mode::default(),
            cache_ttl: None,
            cache: HashMap::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Table {
    fn below(&mut self, n: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n as u64) as usize
    }
}

#[derive(Debug, Default)]
struct State {
    table: Mutex<Table>,
    queries: AtomicU64,
}

/// A DNS server on 127.0.0.1 (same port for UDP and TCP); clones share it, the last drop stops it.
#[derive(Clone)]
pub struct DnsServer {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<State>,
    addr: SocketAddr,
    // Dropping the server drops its JoinSet, which aborts the UDP and TCP tasks.
    _server: Server<Handler>,
}

impl DnsServer {
    /// Binds UDP and TCP on one ephemeral loopback port and starts serving an empty table.
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(State::default());
        let (udp, tcp) = bind_same_port().await?;
        let addr = udp.local_addr()?;
        let mut server = Server::new(Handler {
            state: state.clone(),
        });
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(10), 32);
        Ok(Self {
            inner: Arc::new(Inner {
                state,
                addr,
                _server: server,
            }),
        })
    }

    /// The address (127.0.0.1:port) to send UDP or TCP queries to.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Replaces whatever `name` held by exactly these A records.
    pub fn set_a(&self, name: &str, ips: &[Ipv4Addr]) {
        self.insert(name, Entry::A(ips.to_vec()));
    }

    /// Makes `name` a CNAME to `target`; answers chase the chain through the table.
    pub fn set_cname(&self, name: &str, target: &str) {
        self.insert(name, Entry::Cname(fqdn(target)));
    }

    /// Makes `name` answer one of `ips` per query, rotating, like an Aurora reader endpoint.
    pub fn set_round_robin(&self, name: &str, ips: &[Ipv4Addr]) {
        let ips = ips.to_vec();
        self.insert(name, Entry::RoundRobin { ips, next: 0 });
    }

    /// Makes `name` answer one of `ips` chosen at random per query, as Aurora's reader endpoint
    /// does ("Amazon Aurora endpoints": a reader per resolution, among the available readers).
    pub fn set_random(&self, name: &str, ips: &[Ipv4Addr]) {
        self.insert(
            name,
            Entry::Random {
                ips: ips.to_vec(),
                per_answer: 1,
            },
        );
    }

    /// Makes `name` a Route 53 multivalue answer record set: each answer holds up to eight of
    /// `ips`, chosen at random ("Route 53 responds to DNS queries with up to eight healthy
    /// records" — Route 53 developer guide, "Multivalue answer routing").
    pub fn set_multivalue(&self, name: &str, ips: &[Ipv4Addr]) {
        self.insert(
            name,
            Entry::Random {
                ips: ips.to_vec(),
                per_answer: 8,
            },
        );
    }

    /// Seeds the random choice of [`DnsServer::set_random`] names (a fixed default otherwise).
    pub fn seed(&self, seed: u64) {
        self.table().rng = seed.max(1);
    }

    /// `Some(ttl)`: from now on every answer is repeated for `ttl` after it was first made, as
    /// a caching resolver does (Lambda's VPC resolver keeps an answer for its TTL); record
    /// changes show only once the cached answer expires. `None`: answer every query afresh.
    pub fn set_cache_ttl(&self, ttl: Option<Duration>) {
        let mut table = self.table();
        table.cache_ttl = ttl;
        table.cache.clear();
    }

    /// Makes `name` exist with no records: NOERROR and an empty answer.
    pub fn set_empty(&self, name: &str) {
        self.insert(name, Entry::Empty);
    }

    /// Forgets `name`, so it answers NXDOMAIN.
    pub fn remove(&self, name: &str) {
        self.table().entries.remove(&key(&fqdn(name)));
    }

    /// Switches how every later query is treated (answer, SERVFAIL or silence).
    pub fn set_mode(&self, mode: Mode) {
        self.table().mode = mode;
    }

    /// Number of DNS requests received so far, answered or not, of any type and protocol.
    pub fn query_count(&self) -> u64 {
        self.inner.state.queries.load(Ordering::Relaxed)
    }

    fn insert(&self, name: &str, entry: Entry) {
        self.table().entries.insert(key(&fqdn(name)), entry);
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.inner
            .state
            .table
            .lock()
            .expect("DNS table lock poisoned")
    }
}

/// Binds UDP on an ephemeral port, then TCP on the same number; retries if TCP's is taken.
async fn bind_same_port() -> anyhow::Result<(UdpSocket, TcpListener)> {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = udp.local_addr()?.port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return Ok((udp, tcp));
        }
    }
    anyhow::bail!("no loopback port free for both UDP and TCP after 20 tries")
}

/// Parses a test-supplied name as a fully qualified name; panics on a malformed one.
fn fqdn(name: &str) -> Name {
    let mut parsed =
        Name::from_ascii(name).unwrap_or_else(|e| panic!("invalid DNS name {name:?}: {e}"));
    parsed.set_fqdn(true);
    parsed
}

/// Table key: lower case, without the trailing dot.
fn key(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

impl State {
    /// Answers `qname`/`qtype` from the table, following CNAMEs like a recursive resolver.
    fn resolve(&self, qname: &Name, qtype: RecordType) -> (ResponseCode, Vec<Record>) {
        let mut table = self.table.lock().expect("DNS table lock poisoned");
        let Some(ttl) = table.cache_ttl else {
            return resolve_in(&mut table, qname, qtype);
        };
        let cache_key = (key(qname), qtype);
        if let Some((at, code, records)) = table.cache.get(&cache_key) {
            if at.elapsed() < ttl {
                return (*code, records.clone());
            }
        }
        let (code, records) = resolve_in(&mut table, qname, qtype);
        table
            .cache
            .insert(cache_key, (Instant::now(), code, records.clone()));
        (code, records)
    }
}

/// Answers from the table itself (no cache), following CNAMEs.
fn resolve_in(table: &mut Table, qname: &Name, qtype: RecordType) -> (ResponseCode, Vec<Record>) {
    let wants_a = matches!(qtype, RecordType::A | RecordType::ANY);
    let mut records = Vec::new();
    let mut owner = qname.clone();
    for _ in 0..MAX_CHAIN {
        if let Some(Entry::Random { ips, per_answer }) = table.entries.get(&key(&owner)) {
            if wants_a && !ips.is_empty() {
                let (mut pool, k) = (ips.clone(), (*per_answer).min(ips.len()));
                // A partial Fisher-Yates shuffle: the first k are a random subset.
                for i in 0..k {
                    let j = i + table.below(pool.len() - i);
                    pool.swap(i, j);
                }
                for ip in &pool[..k] {
                    records.push(Record::from_rdata(owner.clone(), TTL, RData::A(A(*ip))));
                }
                return (ResponseCode::NoError, records);
            }
        }
        let Some(entry) = table.entries.get_mut(&key(&owner)) else {
            return (ResponseCode::NXDomain, records);
        };
        let a = |ip: &Ipv4Addr| Record::from_rdata(owner.clone(), TTL, RData::A(A(*ip)));
        match entry {
            Entry::Cname(target) => {
                let cname = RData::CNAME(CNAME(target.clone()));
                records.push(Record::from_rdata(owner.clone(), TTL, cname));
                if qtype == RecordType::CNAME {
                    return (ResponseCode::NoError, records);
                }
                owner = target.clone();
            }
            Entry::A(ips) if wants_a => {
                records.extend(ips.iter().map(a));
                return (ResponseCode::NoError, records);
            }
            Entry::RoundRobin { ips, next } if wants_a => {
                if !ips.is_empty() {
                    records.push(a(&ips[*next % ips.len()]));
                    *next = (*next + 1) % ips.len();
                }
                return (ResponseCode::NoError, records);
            }
            // Empty names, and A data asked for another type: NOERROR without data.
            _ => return (ResponseCode::NoError, records),
        }
    }
    (ResponseCode::ServFail, Vec::new())
}

struct Handler {
    state: Arc<State>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.state.queries.fetch_add(1, Ordering::Relaxed);
        let mode = self
            .state
            .table
            .lock()
            .expect("DNS table lock poisoned")
            .mode;
        let mut metadata = Metadata::response_from_request(&request.metadata);
        if mode == Mode::Drop {
            return header_only(metadata);
        }
        let (code, answers) = match request.request_info() {
            _ if mode == Mode::ServFail => (ResponseCode::ServFail, Vec::new()),
            Err(_) => (ResponseCode::FormErr, Vec::new()),
            Ok(info) if info.metadata.op_code != OpCode::Query => {
                (ResponseCode::NotImp, Vec::new())
            }
            Ok(info) => self
                .state
                .resolve(info.query.original().name(), info.query.query_type()),
        };
        metadata.response_code = code;
        metadata.authoritative = true;
        metadata.recursion_available = true;

        let mut edns = Edns::new();
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(requested) = &request.edns {
            edns.set_max_payload(requested.max_payload().max(512));
            builder.edns(&edns);
        }
        let none = std::iter::empty();
        let response = builder.build(metadata, answers.iter(), none.clone(), none.clone(), none);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, "test DNS server failed to send a response");
                metadata.response_code = ResponseCode::ServFail;
                header_only(metadata)
            }
        }
    }
}

/// A `ResponseInfo` for a response that was not (or could not be) sent.
fn header_only(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}
