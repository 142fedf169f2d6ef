//! Client secret rotation in the console over real HTTP: the secrets listed (ids,
//! dates, masked values), a second one added and shown once, both authenticating at the
//! token endpoint's neighbour `/oauth2/revoke`, the old one deleted (it stops working),
//! the last one never deleted, at most two, and none for a public client.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::console::Console;
use crate::harness::{Gw, app_client_body};

/// Whether `secret` authenticates `client` (RFC 7009 revocation answers 200 to an
/// authenticated client whatever the token, 401 otherwise).
async fn authenticates(gw: &Gw, client: &str, secret: &str) -> bool {
    let r = gw
        .http
        .post(gw.url("/oauth2/revoke"))
        .basic_auth(client, Some(secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    match r.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        s => panic!("revoke answered {s}"),
    }
}

fn secret_ids(body: &str) -> Vec<String> {
    let table = &body[body.find("<table id=\"secrets\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr><td><code>")
        .skip(1)
        .map(|r| r[..r.find('<').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn console_client_secret_rotation() {
    let gw = Gw::start().await;
    let (id, first) = gw
        .client(app_client_body("http://127.0.0.1:9/cb", &[], true))
        .await;
    let first = first.unwrap();
    let (public, _) = gw
        .client(app_client_body("http://127.0.0.1:9/cb", &[], false))
        .await;
    let c = Console::sign_in(&gw).await;
    let path = format!("/console/pools/default/clients/{id}");

    // One secret: listed masked, not deletable.
    let (s, body) = c.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    let ids = secret_ids(&body);
    assert_eq!(ids.len(), 1, "{body}");
    assert!(!body.contains(&first), "the secret is on the page");
    assert!(body.contains("the only one"));
    assert!(
        !body.contains("/secrets/"),
        "the last secret is offered for deletion"
    );

    // A second one: shown once, both work.
    let r = c.post(&format!("{path}/secrets"), &[]).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body = r.text().await.unwrap();
    let open = "<code id=\"client-secret\">";
    let at = body.find(open).unwrap() + open.len();
    let second = body[at..at + body[at..].find('<').unwrap()].to_owned();
    assert!(second.len() >= 24, "{second}");
    assert!(authenticates(&gw, &id, &first).await);
    assert!(authenticates(&gw, &id, &second).await);
    let (_, body) = c.get(&path).await;
    assert!(!body.contains(&second), "shown again");
    let ids = secret_ids(&body);
    assert_eq!(ids.len(), 2, "{body}");
    assert!(!body.contains("Add secret"), "a third is offered");
    let r = c.post(&format!("{path}/secrets"), &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(secret_ids(&r.text().await.unwrap()).len(), 2);

    // The old one deleted: it stops working; the last one stays.
    let r = c
        .post(&format!("{path}/secrets/{}/delete", ids[0]), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION].to_str().unwrap(),
        format!("{path}?ok=secret-deleted")
    );
    assert!(!authenticates(&gw, &id, &first).await);
    assert!(authenticates(&gw, &id, &second).await);
    let r = c
        .post(&format!("{path}/secrets/{}/delete", ids[1]), &[])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("last remaining secret"));
    assert!(authenticates(&gw, &id, &second).await);

    // A forged form changes nothing.
    let r = c
        .post_raw(
            &format!("{path}/secrets"),
            &[("csrf", "forged")],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, body) = c.get(&path).await;
    assert_eq!(secret_ids(&body).len(), 1);

    // A public client has no secret to rotate.
    let (_, body) = c
        .get(&format!("/console/pools/default/clients/{public}"))
        .await;
    assert!(!body.contains("Add secret"));
    let r = c
        .post(
            &format!("/console/pools/default/clients/{public}/secrets"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// A pasted SAML metadata document over the gateway's 64 KiB is read (and judged by the
/// admin service: junk is refused in words, nothing stored); over 1 MiB it is refused
/// unread; elsewhere the 64 KiB limit still holds.
#[tokio::test]
async fn console_forms_take_large_metadata() {
    let gw = Gw::start().await;
    let c = Console::sign_in(&gw).await;
    let big = format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntityDescriptor>",
        "<!-- padding -->".repeat(20_000)
    );
    assert!(big.len() > 256 * 1024);
    let form = [
        ("type", "SAML"),
        ("name", "Big"),
        ("metadata_xml", big.as_str()),
    ];
    let r = c.post("/console/pools/default/providers", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("Not saved"));
    let (s, _) = gw.admin("GET", "/pools/default/providers/Big", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let huge = "x".repeat(1024 * 1024 + 1);
    let form = [
        ("type", "SAML"),
        ("name", "Huge"),
        ("metadata_xml", huge.as_str()),
    ];
    let r = c.post("/console/pools/default/providers", &form).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The admin API keeps the gateway's limit.
    let r = gw
        .http
        .post(gw.url("/admin/v1/pools"))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"id\":\"x\",\"pad\":\"{}\"}}",
            "x".repeat(100 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
