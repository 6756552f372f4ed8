"""`GET /healthz` tells a load balancer whether the app and its database answer."""

from webapp import create_app


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_does_not_answer():
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
