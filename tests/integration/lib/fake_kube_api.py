#!/usr/bin/env python3
"""A recording fake Kubernetes API server for the cleanup tests (stdlib only).

It serves HTTPS (the test makes the CA and the server certificate with openssl) on 127.0.0.1,
port 0, and prints the port on its first stdout line. It checks what a real API server would
for ConfigMaps in the core group:

* `Authorization: Bearer <token>` equal to the content of TOKEN_FILE (re-read per request, so a
  test can rotate it), else 401 Status;
* real paths only: /api/v1/namespaces/{ns}/configmaps[/{name}] (GET, POST on the collection,
  PATCH, DELETE) and /api/v1/namespaces/{ns} (GET); anything else 404 "the server could not find
  the requested resource", other verbs 405;
* PATCH Content-Type application/merge-patch+json, application/strategic-merge-patch+json or
  application/apply-patch+yaml (server-side apply needs ?fieldManager=, the body must be JSON
  here), 415 otherwise; POST needs application/json (415 otherwise) and no resourceVersion;
* stored objects get uid, creationTimestamp and a resourceVersion bumped on every write (one
  counter, like etcd's revision); a patch carrying a stale metadata.resourceVersion gets 409
  Conflict; creating an existing name 409 AlreadyExists; a missing object or namespace a 404
  Status; an invalid name (DNS-1123 subdomain) or non-string data 422 Invalid; an immutable
  ConfigMap's data cannot change (422);
* 403 Status in the RBAC authorizer's exact wording for the verbs/resources named by
  --forbid VERB:RESOURCE or by "forbid": ["VERB RESOURCE", ...] in the control file;
* "concurrent_write": ["NAME", ...] in the control file: before the next write to that
  ConfigMap, another writer changes it (one time per listing of the name), to provoke a 409;
* "delay_ms": N in the control file: every API request is answered N ms late.
* "fail_5xx": ["VERB RESOURCE", ...] in the control file: those requests answer 500
  InternalError, as an API server with a failing etcd does.
* "echo_token_5xx": ["VERB RESOURCE", ...]: those requests answer 500 InternalError whose message
  echoes the Authorization header after 300 characters (the client must scrub it).

Added for `spilo-agent install` (what a real API server does that the installer needs):

* more kinds, each at its real path: namespaces (cluster scoped: GET, list, apply), secrets,
  serviceaccounts, pods (list, get, DELETE) in the core group; roles and rolebindings
  (rbac.authorization.k8s.io/v1); operatorconfigurations and postgresqls (acid.zalan.do/v1);
  prometheusrules and podmonitors (monitoring.coreos.com/v1). "missing_groups": ["GROUP", ...]
  in the control file makes a whole API group unknown (404 "the server could not find the
  requested resource"), as when its CRDs are not installed;
* server-side apply (PATCH application/apply-patch+yaml with ?fieldManager=): apiVersion, kind,
  name and namespace of the body must match the URL (400 otherwise); it creates a missing object
  (201) or merges into the existing one (200), and a no-op apply keeps the resourceVersion;
* Secret data values must be base64 (422); objects of any kind are checked for a valid name;
* 403 in the RBAC authorizer's wording with the right API group (and "at the cluster scope" for
  namespaces);
* lists honour ?labelSelector=k=v[,k=v];
* deleting a pod that has metadata.labels replaces it, like its ReplicaSet would, with a new pod
  of the same labels named <prefix>-<5 random letters>, Ready after "pod_ready_after_ms" (control
  file, default 300) unless "pod_never_ready" is true.

Added for `spilo-agent status` and kubeconfig users (what a real API server does there):

* GET /api/v1/pods lists pods of every namespace (honouring ?labelSelector=), as `list pods`
  at the cluster scope (403 "at the cluster scope" when forbidden);
* the pod proxy, GET /api/v1/namespaces/{ns}/pods/{name}:{port}/proxy/{path}: RBAC verb get on
  pods/proxy, a missing pod a 404 Status, a pod without status.podIP a 400 Status, otherwise
  the request is forwarded over plain HTTP to status.podIP:port/path and the pod's answer (status
  and body) returned; a refused connection is the 503 Status "error trying to reach service:
  dial tcp ...: connect: connection refused" as kube-apiserver gives;
* --client-ca FILE: a client certificate is requested and, when presented, verified against
  FILE (a bad one fails the TLS handshake, as kube-apiserver's --client-ca-file does); a request
  with a verified certificate is authenticated as its CN (auth "cert" in the log) even without a
  bearer token;
* --token-file may hold several tokens, one per line (e.g. one for the exec plugin).

The control file (JSON, optional) is re-read on every request. Every request is appended to
LOG as one JSON line: method, path, query, content_type, accept, user_agent, auth ("ok",
"missing", "wrong"), status and body (parsed JSON when it is JSON); the token is never logged.
After every change the whole store is written to STORE (a JSON list of objects).
POST /_fake/reset (no auth; the test's own hook, never used by the agent) replaces the store
with the JSON list in the body (objects of any kind above; the --namespace namespaces always
exist).

usage: fake_kube_api.py --cert C --key K --token-file T --log LOG --store STORE
                        [--control FILE] [--namespace NS]... [--user USER]
                        [--forbid VERB:RESOURCE]... [--client-ca CA]
"""
import argparse
import copy
import datetime
import http.server
import json
import os
import random
import re
import string
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ARGS = None
LOCK = threading.Lock()
STORE = {}  # (resource, ns, name) -> object; ns "" for namespaces
READY_AT = {}  # (ns, pod name) -> time.monotonic() when the replacement pod turns Ready

# resource -> (group, version, kind, namespaced)
KINDS = {
    "namespaces": ("", "v1", "Namespace", False),
    "configmaps": ("", "v1", "ConfigMap", True),
    "secrets": ("", "v1", "Secret", True),
    "serviceaccounts": ("", "v1", "ServiceAccount", True),
    "pods": ("", "v1", "Pod", True),
    "roles": ("rbac.authorization.k8s.io", "v1", "Role", True),
    "rolebindings": ("rbac.authorization.k8s.io", "v1", "RoleBinding", True),
    "operatorconfigurations": ("acid.zalan.do", "v1", "OperatorConfiguration", True),
    "postgresqls": ("acid.zalan.do", "v1", "postgresql", True),
    "prometheusrules": ("monitoring.coreos.com", "v1", "PrometheusRule", True),
    "podmonitors": ("monitoring.coreos.com", "v1", "PodMonitor", True),
}
RESOURCE_OF_KIND = {v[2]: k for k, v in KINDS.items()}
CORE_NAMESPACED = {r for r, v in KINDS.items() if v[0] == "" and v[3]}
BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
REV = [100]
RACED = {}  # name -> times a concurrent write was injected

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def status(code, reason, message, details=None):
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details is not None:
        doc["details"] = details
    return code, doc


def control():
    if not ARGS.control or not os.path.exists(ARGS.control):
        return {}
    try:
        with open(ARGS.control, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def forbidden_rules():
    rules = set()
    for item in ARGS.forbid or []:
        verb, _, res = item.partition(":")
        rules.add((verb, res))
    for item in control().get("forbid", []):
        verb, _, res = item.partition(" ")
        rules.add((verb, res))
    return rules


def next_rev():
    REV[0] += 1
    return str(REV[0])


def save_store():
    tmp = ARGS.store + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump([STORE[k] for k in sorted(STORE)], f, indent=1, sort_keys=True)
    os.replace(tmp, ARGS.store)


def merge_patch(target, patch):
    """RFC 7386; for a ConfigMap the strategic merge patch does the same (maps only)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue  # strategic merge directives: none apply to a ConfigMap's maps
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def api_version(res):
    group, version, _, _ = KINDS[res]
    return f"{group}/{version}" if group else version


def validate(obj, ns, name, res="configmaps"):
    """Returns None or a 422 Status, as the validation of that kind would."""
    if res != "configmaps":
        return validate_other(obj, name, res)
    causes = []
    if not name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        causes.append(("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                       "must consist of lower case alphanumeric characters, '-' or '.', and must "
                       "start and end with an alphanumeric character"))
    data = obj.get("data", {}) or {}
    if not isinstance(data, dict):
        causes.append(("data", "Invalid value: must be a map of strings"))
        data = {}
    size = 0
    for k, v in data.items():
        if not CONFIG_KEY.match(k):
            causes.append((f"data[{k}]", f'Invalid value: "{k}": a valid config key must consist '
                           "of alphanumeric characters, '-', '_' or '.'"))
        if not isinstance(v, str):
            causes.append((f"data[{k}]", "Invalid value: must be a string"))
        else:
            size += len(k) + len(v)
    for k, v in (obj.get("binaryData") or {}).items():
        size += len(k) + len(str(v))
    if size > 1048576:
        causes.append(("data", "Too long: must have at most 1048576 bytes"))
    if not causes:
        return None
    msg = f'ConfigMap "{name}" is invalid: ' + ", ".join(f"{f}: {m}" for f, m in causes)
    return status(422, "Invalid", msg, {"name": name, "kind": "ConfigMap",
                                        "causes": [{"reason": "FieldValueInvalid", "message": m,
                                                    "field": f} for f, m in causes]})


def validate_other(obj, name, res):
    kind = KINDS[res][2]
    causes = []
    if not name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        causes.append(("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                       "must consist of lower case alphanumeric characters, '-' or '.', and must "
                       "start and end with an alphanumeric character"))
    if res == "secrets":
        for k, v in (obj.get("data") or {}).items():
            if not isinstance(v, str) or not BASE64.match(v) or len(v) % 4:
                causes.append((f"data[{k}]", "Invalid value: illegal base64 data"))
    if not causes:
        return None
    msg = f'{kind} "{name}" is invalid: ' + ", ".join(f"{f}: {m}" for f, m in causes)
    return status(422, "Invalid", msg, {"name": name, "kind": kind,
                                        "causes": [{"reason": "FieldValueInvalid", "message": m,
                                                    "field": f} for f, m in causes]})


def now_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_namespace(name):
    STORE[("namespaces", "", name)] = {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "uid": str(uuid.uuid4()), "resourceVersion": next_rev(),
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Active"}}


def pod_view(key, pod):
    """A pod as listed now: a replacement turns Ready when its time has come."""
    ready_at = READY_AT.get((key[1], key[2]))
    if ready_at is not None and not control().get("pod_never_ready") and \
            time.monotonic() >= ready_at:
        for c in pod.get("status", {}).get("conditions", []):
            if c.get("type") == "Ready" and c.get("status") != "True":
                c["status"] = "True"
                pod["metadata"]["resourceVersion"] = next_rev()
        READY_AT.pop((key[1], key[2]), None)
    return pod


def replace_pod(ns, old):
    labels = (old.get("metadata") or {}).get("labels")
    if not labels:
        return
    base = old["metadata"].get("generateName") or old["metadata"]["name"].rsplit("-", 1)[0] + "-"
    name = base + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "generateName": base,
                        "labels": copy.deepcopy(labels), "uid": str(uuid.uuid4()),
                        "resourceVersion": next_rev(), "creationTimestamp": now_stamp()},
           "status": {"phase": "Running",
                      "conditions": [{"type": "Ready", "status": "False"}]}}
    STORE[("pods", ns, name)] = pod
    READY_AT[(ns, name)] = time.monotonic() + control().get("pod_ready_after_ms", 300) / 1000


def selector_match(obj, selector):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


class RawBody:
    """A proxied answer, sent as the pod gave it."""

    def __init__(self, data, ctype):
        self.data, self.ctype = data, ctype


class Kube(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, doc):
        ctype = "application/json"
        if isinstance(doc, RawBody):
            data, ctype = doc.data, doc.ctype
        else:
            data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def _log(self, code, body_text):
        try:
            body = json.loads(body_text) if body_text else None
        except ValueError:
            body = body_text
        url = urllib.parse.urlsplit(self.path)
        auth = self.headers.get("Authorization")
        rec = {"method": self.command, "path": url.path, "query": url.query,
               "content_type": self.headers.get("Content-Type", ""),
               "accept": self.headers.get("Accept", ""),
               "user_agent": self.headers.get("User-Agent", ""),
               "auth": self._auth_kind(auth),
               "status": code, "body": body}
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    def _auth_kind(self, auth):
        if auth is None:
            return "cert" if self._client_cn() else "missing"
        return "ok" if self._token_ok() else "wrong"

    def _client_cn(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            return None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def _token_ok(self):
        try:
            with open(ARGS.token_file, encoding="utf-8") as f:
                tokens = [t.strip() for t in f.read().splitlines() if t.strip()]
        except OSError:
            return False
        return any(self.headers.get("Authorization") == f"Bearer {t}" for t in tokens)

    def _auth_ok(self):
        # kube-apiserver: a bearer token is checked when sent (a wrong one is 401 even with a
        # good certificate); without one a verified client certificate authenticates
        if self.headers.get("Authorization") is None:
            return self._client_cn() is not None
        return self._token_ok()

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_text = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        delay_ms = control().get("delay_ms", 0)
        if delay_ms and not self.path.startswith("/_fake/"):
            time.sleep(delay_ms / 1000)
        with LOCK:
            code, doc = self._route(body_text)
            self._log(code, body_text)
        self._send(code, doc)

    def _route(self, body_text):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/_fake/reset" and self.command == "POST":
            STORE.clear()
            READY_AT.clear()
            for ns in ARGS.namespace:
                add_namespace(ns)
            for obj in json.loads(body_text or "[]"):
                meta = obj.setdefault("metadata", {})
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
                meta["resourceVersion"] = next_rev()
                res = RESOURCE_OF_KIND[obj.get("kind", "ConfigMap")]
                STORE[(res, meta.get("namespace", "") if KINDS[res][3] else "", meta["name"])] = obj
            RACED.clear()
            save_store()
            return 200, {"reset": len(STORE)}
        if not self._auth_ok():
            return status(401, "Unauthorized", "Unauthorized")
        notfound = status(404, "NotFound", "the server could not find the requested resource", {})
        if url.path == "/api/v1/pods":
            if self.command != "GET":
                return status(405, "MethodNotAllowed", "the server does not allow this method on "
                              "the requested resource", {})
            if ("list", "pods") in forbidden_rules():
                return status(403, "Forbidden", f'pods is forbidden: User "{ARGS.user}" cannot '
                              'list resource "pods" in API group "" at the cluster scope',
                              {"kind": "pods"})
            sel = query.get("labelSelector", "")
            items = [pod_view(k, STORE[k]) for k in sorted(STORE)
                     if k[0] == "pods" and selector_match(STORE[k], sel)]
            return 200, {"apiVersion": "v1", "kind": "PodList",
                         "metadata": {"resourceVersion": str(REV[0])}, "items": items}
        px = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/:]+)(?::(\d+))?/proxy(/.*)?",
                          url.path)
        if px:
            return self._proxy(px.group(1), px.group(2), px.group(3), px.group(4) or "/",
                               url.query)
        m = re.fullmatch(r"/api/v1/namespaces(?:/([^/]+)(?:/([^/]+)(?:/([^/]+))?)?)?", url.path)
        g = re.fullmatch(r"/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?",
                         url.path)
        if m:
            ns, res, name = m.group(1), m.group(2), m.group(3)
            if res is None:  # the namespaces themselves, cluster scoped
                res, name, ns = "namespaces", ns, ""
            elif res not in CORE_NAMESPACED:
                return notfound
        elif g:
            group, version, ns, res, name = g.groups()
            if res not in KINDS or KINDS[res][0] != group or KINDS[res][1] != version or \
                    group in control().get("missing_groups", []):
                return notfound
        else:
            return notfound
        group = KINDS[res][0]
        verb = {("GET", True): "get", ("GET", False): "list", ("POST", False): "create",
                ("PATCH", True): "patch", ("DELETE", True): "delete"}.get(
                    (self.command, name is not None))
        if verb is None:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the "
                          "requested resource", {})
        if verb not in ("get", "list", "patch") and res == "namespaces":
            return status(405, "MethodNotAllowed", "the server does not allow this method on the "
                          "requested resource", {})
        if verb == "delete" and res != "configmaps" and res != "pods":
            return status(405, "MethodNotAllowed", "this fake deletes configmaps and pods only", {})
        if f"{verb} {res}" in control().get("echo_token_5xx", []):
            # A hostile or buggy server reflecting what it was sent, past a 300-character pad so
            # that any cut of the message lands inside the token.
            return status(500, "InternalError", "x" * 300 + " you sent: " +
                          self.headers.get("Authorization", ""), {})
        if f"{verb} {res}" in control().get("fail_5xx", []):
            return status(500, "InternalError", "Internal error occurred: etcdserver: request "
                          "timed out", {})
        if (verb, res) in forbidden_rules():
            prefix = f'{res} "{name}"' if name else res
            details = {"name": name, "kind": res} if name else {"kind": res}
            if group:
                details["group"] = group
            where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            return status(403, "Forbidden",
                          f'{prefix} is forbidden: User "{ARGS.user}" cannot {verb} resource '
                          f'"{res}" in API group "{group}" {where}', details)
        if ns and ("namespaces", "", ns) not in STORE and verb in ("create", "patch"):
            return status(404, "NotFound", f'namespaces "{ns}" not found',
                          {"name": ns, "kind": "namespaces"})
        key = (res, ns, name)

        def missing():
            details = {"name": name, "kind": res}
            if group:
                details["group"] = group
            what = f"{res}.{group}" if group else res
            return status(404, "NotFound", f'{what} "{name}" not found', details)

        if verb == "get":
            if key not in STORE:
                return missing()
            return 200, pod_view(key, STORE[key]) if res == "pods" else STORE[key]
        if verb == "list":
            sel = query.get("labelSelector", "")
            items = [pod_view(k, STORE[k]) if res == "pods" else STORE[k] for k in sorted(STORE)
                     if k[0] == res and k[1] == ns and selector_match(STORE[k], sel)]
            return 200, {"apiVersion": api_version(res), "kind": KINDS[res][2] + "List",
                         "metadata": {"resourceVersion": str(REV[0])}, "items": items}
        if verb == "delete":
            if key not in STORE:
                return missing()
            gone = STORE.pop(key)
            if res == "pods":
                replace_pod(ns, gone)
                gone["metadata"]["deletionTimestamp"] = now_stamp()
                save_store()
                return 200, gone
            save_store()
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            body = json.loads(body_text)
        except ValueError:
            return status(400, "BadRequest", "the request body is not JSON (this fake reads "
                          "JSON only)")
        if verb == "create":
            if res != "configmaps":
                return status(405, "MethodNotAllowed", "this fake creates configmaps only", {})
            if ctype != "application/json":
                return status(415, "UnsupportedMediaType",
                              f'the body of the request was in an unknown format - accepted '
                              f'media types include: application/json, application/yaml, '
                              f'application/vnd.kubernetes.protobuf')
            if not isinstance(body, dict) or body.get("kind") != "ConfigMap" or \
                    body.get("apiVersion") != "v1":
                return status(400, "BadRequest", "the object is not a v1 ConfigMap")
            meta = body.setdefault("metadata", {})
            if meta.get("namespace", ns) != ns:
                return status(400, "BadRequest", "the namespace of the provided object does not "
                              "match the namespace sent on the request")
            if meta.get("resourceVersion"):
                return status(400, "BadRequest",
                              "resourceVersion should not be set on objects to be created")
            cname = meta.get("name", "")
            bad = validate(body, ns, cname)
            if bad:
                return bad
            if (res, ns, cname) in STORE:
                return status(409, "AlreadyExists", f'configmaps "{cname}" already exists',
                              {"name": cname, "kind": "configmaps"})
            if query.get("dryRun") == "All":
                return 201, body
            meta.update({"namespace": ns, "uid": str(uuid.uuid4()), "resourceVersion": next_rev(),
                         "creationTimestamp": datetime.datetime.now(datetime.timezone.utc)
                         .strftime("%Y-%m-%dT%H:%M:%SZ")})
            STORE[(res, ns, cname)] = body
            save_store()
            return 201, body
        # patch
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                         "application/apply-patch+yaml"):
            return status(415, "UnsupportedMediaType",
                          f'the body of the request was in an unknown format - accepted media '
                          f'types include: application/json-patch+json, '
                          f'application/merge-patch+json, application/apply-patch+yaml')
        if not isinstance(body, dict):
            return status(400, "BadRequest", "the patch is not a JSON object")
        apply = ctype == "application/apply-patch+yaml"
        if apply and not query.get("fieldManager"):
            return status(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                          "Required value: is required for apply patch")
        kind_name = KINDS[res][2]
        if apply:
            if not body.get("apiVersion") or not body.get("kind"):
                return status(400, "BadRequest", "apiVersion and kind must be set in an apply "
                              "patch")
            if body["apiVersion"] != api_version(res) or body["kind"] != kind_name:
                return status(400, "BadRequest", f'the object of kind {body["kind"]} '
                              f'({body["apiVersion"]}) does not match {kind_name} '
                              f'({api_version(res)}) of the request path')
            bmeta = body.get("metadata") or {}
            if bmeta.get("name") != name:
                return status(400, "BadRequest", f'the name of the object ({bmeta.get("name")}) '
                              f"does not match the name on the URL ({name})")
            if bmeta.get("namespace", ns) != ns:
                return status(400, "BadRequest", "the namespace of the provided object does not "
                              "match the namespace sent on the request")
        if name in control().get("concurrent_write", []) and not RACED.get(name) and key in STORE:
            RACED[name] = 1
            other = STORE[key]
            other.setdefault("data", {})["CHANGED_BY_OTHER_WRITER"] = "1"
            other["metadata"]["resourceVersion"] = next_rev()
            save_store()
        if key not in STORE:
            if not apply:
                return missing()
            current = {"apiVersion": api_version(res), "kind": kind_name,
                       "metadata": {"name": name, "uid": str(uuid.uuid4()),
                                    "creationTimestamp": now_stamp()}}
            if ns:
                current["metadata"]["namespace"] = ns
        else:
            current = STORE[key]
        want_rv = (body.get("metadata") or {}).get("resourceVersion")
        if want_rv is not None and want_rv != current["metadata"].get("resourceVersion"):
            return status(409, "Conflict", f'Operation cannot be fulfilled on {res} "{name}": '
                          "the object has been modified; please apply your changes to the latest "
                          "version and try again", {"name": name, "kind": res})
        result = merge_patch(current, body)
        result["metadata"]["name"] = name
        if ns:
            result["metadata"]["namespace"] = ns
        bad = validate(result, ns, name, res)
        if bad:
            return bad
        if res == "configmaps" and current.get("immutable") and (
                result.get("data") != current.get("data") or
                result.get("binaryData") != current.get("binaryData")):
            return status(422, "Invalid", f'ConfigMap "{name}" is invalid: data: Forbidden: field '
                          "is immutable when `immutable` is set",
                          {"name": name, "kind": "ConfigMap"})
        if query.get("dryRun") == "All":
            return 200, result
        created = key not in STORE
        if apply and not created:
            # a no-op apply changes nothing, so the resourceVersion stays
            a = copy.deepcopy(result)
            b = copy.deepcopy(current)
            a["metadata"].pop("resourceVersion", None)
            b["metadata"].pop("resourceVersion", None)
            if a == b:
                return 200, current
        result["metadata"]["resourceVersion"] = next_rev()
        STORE[key] = result
        save_store()
        return (201 if created else 200), result

    def _proxy(self, ns, name, port, path, query):
        if self.command != "GET":
            return status(405, "MethodNotAllowed", "this fake proxies GET only", {})
        if ("get", "pods/proxy") in forbidden_rules():
            return status(403, "Forbidden",
                          f'pods "{name}" is forbidden: User "{ARGS.user}" cannot get resource '
                          f'"pods/proxy" in API group "" in the namespace "{ns}"',
                          {"name": name, "kind": "pods"})
        pod = STORE.get(("pods", ns, name))
        if pod is None:
            return status(404, "NotFound", f'pods "{name}" not found',
                          {"name": name, "kind": "pods"})
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            return status(400, "BadRequest", f'address not allowed')
        target = f"http://{ip}:{port or 80}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(target, timeout=5) as r:
                return r.status, RawBody(r.read(), r.headers.get("Content-Type", "text/plain"))
        except urllib.error.HTTPError as e:
            return e.code, RawBody(e.read(), e.headers.get("Content-Type", "text/plain"))
        except (urllib.error.URLError, OSError) as e:
            return status(503, "ServiceUnavailable",
                          f"error trying to reach service: dial tcp {ip}:{port or 80}: connect: "
                          "connection refused" if "refused" in str(e) else
                          f"error trying to reach service: {e}", {})

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--control")
    p.add_argument("--namespace", action="append", default=[])
    p.add_argument("--user", default="system:serviceaccount:harbor:postgres-pod")
    p.add_argument("--forbid", action="append")
    p.add_argument("--client-ca")
    ARGS = p.parse_args()
    if not ARGS.namespace:
        ARGS.namespace = ["harbor"]
    for ns in ARGS.namespace:
        add_namespace(ns)
    save_store()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    if ARGS.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(ARGS.client_ca)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Kube)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
