//! A small HTTP/1.1 client with a cookie jar, enough to act as a browser without
//! JavaScript. Redirects are not followed, so tests can assert them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_else(|| panic!("no Location in {} {}", self.status, self.text()))
    }
}

/// Sends one request over a fresh connection.
pub fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("server reachable");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // The server may answer (e.g. 413) before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let split =
        raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
    out
}

/// A browser without JavaScript: keeps cookies, submits forms.
pub struct Browser {
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub accept_language: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self { base: base.to_string(), cookies: BTreeMap::new(), accept_language: None }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn remember(&mut self, response: &Response) {
        for (k, v) in &response.headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
    }

    pub fn request(&mut self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Response {
        let cookie = self.cookie_header();
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        let lang = self.accept_language.clone();
        if let Some(lang) = &lang {
            headers.push(("Accept-Language", lang));
        }
        let response = send(&self.base, method, path, &headers, body);
        self.remember(&response);
        response
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        self.request("POST", path, &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes())
    }

    /// Loads a page and submits its form with the page's CSRF token added.
    pub fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let html = self.get(page).text();
        let csrf = hidden_value(&html, "csrf").unwrap_or_else(|| panic!("no csrf field on {page}: {html}"));
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post_form(action, &all)
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `<input … name="NAME" value="…">` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_string())
}

/// The text inside the element with this id.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().to_string())
}

/// An attribute of the element with this id.
pub fn attribute(html: &str, id: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    Some(tag[v..v + tag[v..].find('"')?].to_string())
}

/// The text between `before` and the next `after`.
pub fn between<'a>(html: &'a str, before: &str, after: &str) -> Option<&'a str> {
    let start = html.find(before)? + before.len();
    let end = start + html[start..].find(after)?;
    Some(&html[start..end])
}

/// The page a form's redirect leads to, with its flash message.
pub fn follow(browser: &mut Browser, response: &Response) -> String {
    assert_eq!(response.status, 303, "{}", response.text());
    browser.get(response.location()).text()
}
