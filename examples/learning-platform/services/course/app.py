"""Course service: the catalogue and enrolments. Enrolling needs a token, which it
checks with the auth service (AUTH_URL, else through the load balancer: web.service_url)."""

import os
import sys
import threading

# web.py is shared by the services (lib/); an image carries a copy beside app.py.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import web  # noqa: E402

app = web.App("course", os.path.dirname(os.path.abspath(__file__)), prefix="/api/courses")
lock = threading.Lock()
COURSES = {
    1: {"id": 1, "title": "CI/CD from scratch", "level": "beginner", "seats": 30},
    2: {"id": 2, "title": "Canary releases in practice", "level": "intermediate", "seats": 20},
    3: {"id": 3, "title": "Observability for small teams", "level": "intermediate", "seats": 25},
}
enrolments = {}  # course id -> set of user ids


def course_view(course):
    with lock:
        taken = len(enrolments.get(course["id"], ()))
    return dict(course, enrolled=taken, available=course["seats"] - taken)


@app.route("GET", "")
def list_courses(request):
    level = request.query.get("level")
    found = [course_view(c) for c in COURSES.values() if level is None or c["level"] == level]
    return {"courses": found, "count": len(found)}


@app.route("GET", r"/(\d+)")
def get_course(request):
    course = COURSES.get(int(request.params[0]))
    if course is None:
        raise web.HttpError(404, "no such course")
    return course_view(course)


@app.route("POST", r"/(\d+)/enroll")
def enroll(request):
    course = COURSES.get(int(request.params[0]))
    if course is None:
        raise web.HttpError(404, "no such course")
    token = request.bearer_token()
    if not token:
        raise web.HttpError(401, "sign in first (Authorization: Bearer TOKEN)")
    verify = web.service_url(request, "auth", "/api/auth") + "/verify"
    status, who = web.call(verify, headers={"Authorization": "Bearer " + token})
    if status == 401:
        raise web.HttpError(401, "invalid or expired token")
    if status != 200:
        raise web.HttpError(503, "auth service unavailable")
    with lock:
        members = enrolments.setdefault(course["id"], set())
        if who["sub"] not in members and len(members) >= course["seats"]:
            raise web.HttpError(409, "course is full")
        members.add(who["sub"])
    return 201, {"course": course["id"], "user": who["sub"], "name": who["name"]}


if __name__ == "__main__":
    web.main(app)
