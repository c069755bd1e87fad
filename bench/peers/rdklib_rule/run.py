"""Runs the rdklib peer rule on one Config event file, as its Lambda handler would, and prints
the handler's answer. `python run.py EVENT.json`"""

import json
import sys

from rdklib import Evaluator

from rule import CmkRule

TYPES = ["AWS::Kinesis::Stream", "AWS::SecretsManager::Secret", "AWS::DynamoDB::Table"]


def main() -> None:
    with open(sys.argv[1]) as f:
        event = json.load(f)
    result = Evaluator(CmkRule(), TYPES).handle(event, None)
    print(json.dumps(result, default=str)[:2000])


if __name__ == "__main__":
    main()
