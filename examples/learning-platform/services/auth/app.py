"""Auth service: signs users in and verifies the tokens other services receive.

Tokens are `payload.signature`: the payload is base64url JSON {sub, name, exp}, the
signature an HMAC-SHA256 of it with AUTH_SECRET, so every instance verifies any
instance's tokens without shared state.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

# web.py is shared by the services (lib/); an image carries a copy beside app.py.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import web  # noqa: E402

app = web.App("auth", os.path.dirname(os.path.abspath(__file__)), prefix="/api/auth")
TOKEN_SECONDS = 3600


def load_secret():
    secret = os.environ.get("AUTH_SECRET", "")
    if not secret:
        # Development only: a fixed key makes tokens verifiable across instances; set
        # AUTH_SECRET (a project secret) anywhere real.
        print("auth: AUTH_SECRET is not set; using the development key", file=sys.stderr)
        secret = "development-only-" + app.name  # security: allow
    return secret.encode()


SECRET = load_secret()
SALT = b"learning-platform"


def hash_password(password):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), SALT, 20000).hex()


# Demo accounts (user ids match the user service's seed); the password is DEMO_PASSWORD.
ACCOUNTS = {
    name: {"sub": uid, "name": name, "hash": hash_password(os.environ.get("DEMO_PASSWORD", "learn"))}
    for uid, name in ((1, "alice"), (2, "bob"), (3, "carol"))
}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(sub, name, now=None):
    exp = int(now if now is not None else time.time()) + TOKEN_SECONDS
    payload = b64(json.dumps({"sub": sub, "name": name, "exp": exp}, separators=(",", ":")).encode())
    signature = b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())
    return payload + "." + signature


def verify(token, now=None):
    """The token's claims, or None when it is malformed, forged or expired."""
    if not token or len(token) > 2048 or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    expected = b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        claims = json.loads(unb64(payload))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < (now if now is not None else time.time()):
        return None
    return claims


@app.route("POST", "/login")
def login(request):
    body = request.json()
    account = ACCOUNTS.get(str(body.get("username", "")))
    supplied = hash_password(str(body.get("password", "")))
    if account is None or not hmac.compare_digest(account["hash"], supplied):
        raise web.HttpError(401, "wrong user name or password")
    return {"token": issue(account["sub"], account["name"]), "expires_in": TOKEN_SECONDS}


@app.route("GET", "/verify")
def check(request):
    claims = verify(request.bearer_token())
    if claims is None:
        raise web.HttpError(401, "invalid or expired token")
    return {"sub": claims["sub"], "name": claims["name"]}


if __name__ == "__main__":
    web.main(app)
