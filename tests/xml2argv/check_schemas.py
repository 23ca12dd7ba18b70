#!/usr/bin/python3
"""Check the golden lowering outputs against the hypervisors' official API specs.

* tests/xml2argv/fc/*.json: every call's body must validate against the request-body schema of
  the Firecracker path template and method it is sent to (a call the spec does not list fails),
  and an id in the path must equal the same-named id in the body.
* tests/xml2argv/ch/*.json: each file is one Cloud Hypervisor VmConfig (the body of vm.create)
  and must validate against components.schemas.VmConfig.

Objects are made strict (no properties beyond those the schema lists): Firecracker rejects
unknown fields, and a field Cloud Hypervisor silently ignores is a setting we believe we made but
did not. Prints one line per file and a count; exit 1 on any failure, 77 when python3-jsonschema
or the specs are missing.

Environment: COCOON_TEST_SRCDIR (the tests/ folder), COCOON_SHARED (the folder holding specs/);
without them, paths relative to this file.
"""

import copy
import glob
import json
import os
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"SKIP: {e.name} is missing (install python3-jsonschema and python3-yaml)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("COCOON_TEST_SRCDIR") or os.path.dirname(HERE)


def shared_dir():
    env = os.environ.get("COCOON_SHARED")
    if env and os.path.isdir(os.path.join(env, "specs")):
        return env
    # The repository root is tests/..; the shared folder sits next to the repository.
    return os.path.join(os.path.dirname(os.path.abspath(TESTS)), "..", "shared")


def load_spec(name):
    with open(os.path.join(shared_dir(), "specs", name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(node, root, seen=()):
    """A copy of node with every local $ref replaced by its target (cycles are an error)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"non-local $ref {ref}")
            if ref in seen:
                raise ValueError(f"recursive $ref {ref}")
            target = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            # Siblings of $ref (e.g. a description) carry no constraints; the target wins.
            return resolve(target, root, seen + (ref,))
        return {k: resolve(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, root, seen) for v in node]
    return node


def strict(schema):
    """Forbid properties the schema does not list, on every object schema that lists some."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            # OpenAPI 3 "nullable" is not JSON Schema; express it so the validator honours it.
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema


def validator_for(schema):
    # Swagger 2.0 and OpenAPI 3.0 schemas are (nearly) JSON Schema draft 4.
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def errors_of(validator, instance):
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]


def fc_routes(spec):
    """[(regex, template, method, validator or None)] for every path and method of the spec."""
    routes = []
    for template, ops in spec["paths"].items():
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
        names = re.findall(r"\{([^}]+)\}", template)
        for method, op in ops.items():
            if method not in ("get", "put", "patch", "post", "delete"):
                continue
            body = [p for p in op.get("parameters", []) if p.get("in") == "body"]
            validator = None
            if body:
                validator = validator_for(strict(resolve(body[0]["schema"], spec)))
            routes.append((re.compile(regex), names, method.upper(), validator))
    return routes


def check_fc_file(path, routes):
    problems = []
    with open(path, encoding="utf-8") as f:
        calls = json.load(f)
    if not isinstance(calls, list) or not calls:
        return ["not a non-empty JSON array of calls"]
    for n, call in enumerate(calls):
        where = f"call {n} ({call.get('method')} {call.get('path')})"
        if set(call) != {"method", "path", "body"}:
            problems.append(f"{where}: keys are {sorted(call)}")
            continue
        match = None
        for regex, names, method, validator in routes:
            m = regex.match(call["path"])
            if m and method == call["method"]:
                match = (m, names, validator)
                break
        if not match:
            problems.append(f"{where}: no such path and method in the Firecracker spec")
            continue
        m, names, validator = match
        body = call["body"]
        if validator is None:
            if body is not None:
                problems.append(f"{where}: the spec takes no body here")
            continue
        if body is None:
            problems.append(f"{where}: the spec requires a body")
            continue
        problems += [f"{where}: {e}" for e in errors_of(validator, body)]
        # Firecracker refuses a path id that differs from the body's id of the same name.
        for name, value in zip(names, m.groups()):
            if name in body and body[name] != value:
                problems.append(f"{where}: {name} '{body[name]}' differs from the path")
            if not re.fullmatch(r"[A-Za-z0-9_]+", value):
                problems.append(f"{where}: id '{value}' has characters Firecracker refuses")
    return problems


def check_ch_file(path, validator):
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    return errors_of(validator, config)


def main():
    specs = os.path.join(shared_dir(), "specs")
    missing = [n for n in ("firecracker.yaml", "cloud-hypervisor.yaml")
               if not os.path.isfile(os.path.join(specs, n))]
    if missing:
        # the official specs live outside the repository (../shared/specs, or $COCOON_SHARED)
        print(f"SKIP: {', '.join(missing)} not found in '{os.path.normpath(specs)}' "
              "(set COCOON_SHARED to the folder holding specs/)")
        return 77
    fc_spec = load_spec("firecracker.yaml")
    ch_spec = load_spec("cloud-hypervisor.yaml")
    routes = fc_routes(fc_spec)
    ch_validator = validator_for(
        strict(resolve(ch_spec["components"]["schemas"]["VmConfig"], ch_spec)))

    checked = failed = 0
    jobs = [(p, lambda p: check_fc_file(p, routes))
            for p in sorted(glob.glob(os.path.join(TESTS, "xml2argv", "fc", "*.json")))]
    jobs += [(p, lambda p: check_ch_file(p, ch_validator))
             for p in sorted(glob.glob(os.path.join(TESTS, "xml2argv", "ch", "*.json")))]
    for path, check in jobs:
        rel = os.path.relpath(path, TESTS)
        try:
            problems = check(path)
        except (OSError, ValueError) as e:
            problems = [str(e)]
        checked += 1
        if problems:
            failed += 1
            print(f"FAIL {rel}")
            for p in problems:
                print(f"     {p}")
        else:
            print(f"ok   {rel}")
    print(f"{checked} files checked, {failed} failed")
    if checked == 0:
        print("no golden files found under", os.path.join(TESTS, "xml2argv"))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
