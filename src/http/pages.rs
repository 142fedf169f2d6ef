//! Server-rendered pages (minijinja templates embedded in the binary, HTML autoescape
//! on): error pages with a request id and a link back, redirects, the form of the SAML
//! POST binding. No script anywhere, so the CSP forbids all of it.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value, context};
use serde::Serialize;

use super::security::PAGE;

/// CSP of every HTML page: no script, no inline style (branding CSS is its own
/// stylesheet), no framing. `form-action` must allow where the sign-in forms lead after
/// `/oauth2/authorize` redirects (browsers enforce it across redirects): the upstream
/// providers over https, loopback http in development, and the app's own callback
/// (see [`page_csp`] for a custom-scheme callback of a native app).
pub const PAGE_CSP: &str = "default-src 'none'; img-src 'self' https: data:; style-src 'self'; form-action 'self' https: http://localhost:* http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'; base-uri 'none'";

/// The page CSP for forms whose redirect chain ends at `redirect_uri` (already
/// validated): a custom scheme (`com.example.app:/cb`) is added as a scheme source.
pub fn page_csp(redirect_uri: &str) -> String {
    let scheme = redirect_uri.split(':').next().unwrap_or("");
    let custom = !scheme.is_empty()
        && !matches!(scheme, "http" | "https")
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if custom {
        PAGE_CSP.replacen(
            "form-action 'self'",
            &format!("form-action 'self' {scheme}:"),
            1,
        )
    } else {
        PAGE_CSP.to_owned()
    }
}

static TEMPLATES: LazyLock<Result<Environment<'static>, minijinja::Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("base.html", include_str!("templates/base.html"))?;
    env.add_template("login.html", include_str!("templates/login.html"))?;
    env.add_template(
        "native_step.html",
        include_str!("templates/native_step.html"),
    )?;
    env.add_template("account.html", include_str!("templates/account.html"))?;
    env.add_template("error.html", include_str!("templates/error.html"))?;
    env.add_template("form_post.html", include_str!("templates/form_post.html"))?;
    Ok(env)
});

/// Renders an embedded template; a failure is logged and yields `None`.
pub fn render(name: &str, ctx: Value) -> Option<String> {
    let env = match &*TEMPLATES {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(error = %e, "page templates do not compile");
            return None;
        }
    };
    match env.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page rendering failed");
            None
        }
    }
}

/// A name and value of a hidden form field.
#[derive(Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

pub fn html(status: StatusCode, body: String) -> Response {
    html_with_csp(status, body, PAGE_CSP)
}

pub fn html_with_csp(status: StatusCode, body: String, csp: &str) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    let csp = HeaderValue::from_str(csp).unwrap_or(HeaderValue::from_static(PAGE_CSP));
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A page that says what went wrong, with the request id to quote to the operator and
/// a link back to the page the user came from (when the browser said which).
pub fn error_page(status: u16, message: &str) -> Response {
    let page = PAGE.try_with(Clone::clone).unwrap_or_default();
    let id = page.request_id.clone();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::info!(request_id = %id, status = status.as_u16(), message, "error page");
    let body = render(
        "error.html",
        context! { message, request_id => id, back => page.back },
    )
    .unwrap_or_else(|| "Sign-in could not continue.".to_owned());
    html(status, body)
}

/// A 302 to an already validated URL.
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => error_page(500, "The redirect target is not a valid URL."),
    }
}

/// The form of the SAML HTTP-POST binding, without script: the user presses the
/// button (focused, so one key does it).
pub fn post_form(action: &str, fields: &[(String, String)]) -> Response {
    let fields: Vec<Field> = fields
        .iter()
        .map(|(k, v)| Field {
            name: k.clone(),
            value: v.clone(),
        })
        .collect();
    match render("form_post.html", context! { action, fields }) {
        Some(body) => html(StatusCode::OK, body),
        None => error_page(500, "Something went wrong on our side."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        assert!(
            page_csp("com.example.app:/cb").contains("form-action 'self' com.example.app: https:")
        );
        assert_eq!(page_csp("https://app.example/cb"), PAGE_CSP);
        assert_eq!(page_csp("java script:x"), PAGE_CSP);
        assert!(TEMPLATES.is_ok(), "{:?}", TEMPLATES.as_ref().err());
        let f = vec![Field {
            name: "a".into(),
            value: "</script>".into(),
        }];
        let page = render(
            "error.html",
            context! { message => "m<", request_id => "r", back => "https://x/" },
        );
        assert!(
            page.as_deref().is_some_and(|p| p.contains("m&lt;")),
            "{page:?}"
        );
        let page = render(
            "form_post.html",
            context! { action => "https://idp/", fields => f },
        );
        assert!(page.is_some_and(|p| !p.contains("</script>")));
        let page = render(
            "login.html",
            context! { app_name => "A", providers => Vec::<String>::new(), identifier => true, hidden => Vec::<String>::new() },
        );
        assert!(page.is_some_and(|p| p.contains("idp_identifier")));
    }
}
