"""Two bare DRF views: one answers {"ok": true}, one first INSERTs one row with one statement."""

import json

from django.db import connection
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

# Created by benchmarks/gate.py before the server starts.
TABLE = "bench_bare_row"


class OkView(APIView):
    def get(self, request):
        return Response({"ok": True})


class InsertView(APIView):
    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (body) VALUES (%s)",  # noqa: S608 - a constant table name
                [json.dumps(request.data)],
            )
        return Response({"ok": True})


urlpatterns = [
    path("bare/ok/", OkView.as_view()),
    path("bare/insert/", InsertView.as_view()),
]
