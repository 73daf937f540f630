"""User service: the platform's learners and teachers (in memory, seeded at start)."""

import os
import re
import sys
import threading

# web.py is shared by the services (lib/); an image carries a copy beside app.py.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import web  # noqa: E402

app = web.App("user", os.path.dirname(os.path.abspath(__file__)), prefix="/api/users")
lock = threading.Lock()
users = {}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
ROLES = ("learner", "teacher", "admin")


def add_user(name, email, role="learner"):
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise web.HttpError(400, "name must have 1 to 80 characters")
    if not EMAIL.match(email or ""):
        raise web.HttpError(400, "invalid email address")
    if role not in ROLES:
        raise web.HttpError(400, "role must be one of " + ", ".join(ROLES))
    with lock:
        if any(u["email"] == email for u in users.values()):
            raise web.HttpError(409, "email already registered")
        user = {"id": len(users) + 1, "name": name, "email": email, "role": role}
        users[user["id"]] = user
        return user


def seed():
    with lock:
        users.clear()
    add_user("Alice Martin", "alice@example.com", "learner")
    add_user("Bob Chen", "bob@example.com", "teacher")
    add_user("Carol Diaz", "carol@example.com", "admin")


@app.route("GET", "")
def list_users(request):
    role = request.query.get("role")
    with lock:
        found = [u for u in users.values() if role is None or u["role"] == role]
    return {"users": found, "count": len(found)}


@app.route("POST", "")
def create_user(request):
    body = request.json()
    return 201, add_user(body.get("name"), body.get("email"), body.get("role", "learner"))


@app.route("GET", r"/(\d+)")
def get_user(request):
    with lock:
        user = users.get(int(request.params[0]))
    if user is None:
        raise web.HttpError(404, "no such user")
    return user


seed()

if __name__ == "__main__":
    web.main(app)
