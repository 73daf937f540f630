"""Frontend: the page learners see. It calls the user and course services over HTTP:
USER_URL and COURSE_URL when set, else through the load balancer it was reached on (see
web.service_url)."""

import html
import os
import sys

# web.py is shared by the services (lib/); an image carries a copy beside app.py.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import web  # noqa: E402

app = web.App("frontend", os.path.dirname(os.path.abspath(__file__)))


def summary(request):
    users_status, users = web.call(web.service_url(request, "user", "/api/users"))
    courses_status, courses = web.call(web.service_url(request, "course", "/api/courses"))
    return {
        "frontend": app.build_info(),
        "users": users.get("count") if users_status == 200 else None,
        "courses": courses.get("courses", []) if courses_status == 200 else [],
        "degraded": [name for name, status in (("user", users_status), ("course", courses_status)) if status != 200],
    }


@app.route("GET", "/summary")
def summary_json(request):
    return summary(request)


@app.route("GET", "/")
def index(request):
    data = summary(request)
    rows = "".join(
        "<tr><td>%s</td><td>%s</td><td>%d of %d</td></tr>"
        % (html.escape(c["title"]), html.escape(c["level"]), c["available"], c["seats"])
        for c in data["courses"]
    )
    warning = ""
    if data["degraded"]:
        warning = '<p class="warn">Unavailable: %s</p>' % html.escape(", ".join(data["degraded"]))
    info = data["frontend"]
    page = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Learning platform</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}.warn{color:#b00}</style>
</head><body>
<h1>Learning platform</h1>
%s
<p>%s learners and teachers.</p>
<table><tr><th>Course</th><th>Level</th><th>Seats left</th></tr>%s</table>
<footer><small>frontend %s (%s) in %s</small></footer>
</body></html>
""" % (
        warning,
        "?" if data["users"] is None else data["users"],
        rows,
        html.escape(info["version"]),
        html.escape(info["commit"][:12]),
        html.escape(info["environment"]),
    )
    return 200, page, "text/html; charset=utf-8"


if __name__ == "__main__":
    web.main(app)
