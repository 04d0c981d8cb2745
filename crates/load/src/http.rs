//! One keep-alive HTTP/1.1 connection per simulated client, on hyper's client connection:
//! no pool, no redirects, nothing between the timer and the socket.
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where the load goes: a node's loopback address.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
}

impl Target {
    /// Only loopback addresses: this tool must not load anyone else's machine.
    pub fn parse(url: &str) -> Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("--url {url:?}"))?;
        if parsed.scheme() != "http" {
            bail!("--url {url:?}: only http:// on loopback");
        }
        let host = parsed
            .host_str()
            .with_context(|| format!("--url {url:?}: no host"))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let ip: std::net::IpAddr = match host {
            "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
            h => h.trim_matches(['[', ']']).parse().with_context(|| {
                format!("--url {url:?}: give the node's IP address (127.0.0.1 or [::1])")
            })?,
        };
        if !ip.is_loopback() {
            bail!(
                "--url {url:?}: {ip} is not a loopback address; this tool loads local nodes only"
            );
        }
        Ok(Self {
            addr: SocketAddr::new(ip, port),
            host: format!("{host}:{port}"),
        })
    }
}

/// A response read to its end.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

#[derive(Debug)]
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.target.addr)
                .await
                .with_context(|| format!("connecting to {}", self.target.addr))?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends a request and waits for the head of the answer (the body is left to the caller).
    pub async fn start(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Response<Incoming>> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.target.host);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(body.map(Bytes::from).unwrap_or_default()))?;
        let sender = self.sender().await?;
        sender.ready().await?;
        match sender.send_request(req).await {
            Ok(r) => Ok(r),
            Err(e) => {
                self.sender = None;
                Err(e.into())
            }
        }
    }

    /// Sends a request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer> {
        let response = self.start(method, path, headers, body).await?;
        let (head, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: head.status,
            headers: head.headers,
            body,
        })
    }
}
