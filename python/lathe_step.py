"""The Python side of a Lathe `pythonTrainer` step (lathe/ml): paths and params in, files out.

Lathe runs the step's script as

    python SCRIPT --input NAME=PATH ... --output NAME=PATH ... --scalar NAME=PATH ...
                  --param NAME=JSON ... --param-str NAME=TEXT ...

with this module on PYTHONPATH. The script reads that with

    import lathe_step

    ctx = lathe_step.context()
    frame = ctx.read_table("data")          # pandas DataFrame of the Dataset input 'data'
    depth = ctx.params["maxDepth"]          # typed: int, float, bool, str, list, dict or None
    joblib.dump(model, ctx.outputs["model"])
    ctx.write_metrics({"accuracy": 0.97})   # the Metrics output; also the scalar 'accuracy'

- `ctx.inputs[NAME]`: the path of an input artifact (a file, or a directory if a directory was
  stored); a list input gives a list of paths; an optional input that was not given, None.
  Inputs are read-only: Lathe fails the step if one is modified.
- `ctx.outputs[NAME]`: where to write an artifact output; `model` and `metrics` always exist.
  Write a file there, or make a directory there and write files inside it.
- `ctx.params[NAME]`: the step's params with their defaults applied. An optional param without
  a value is None (so is an empty string: Lathe passes both as nothing).
- `ctx.write_metrics(dict)`: writes the Metrics JSON object and every scalar output named like
  one of its keys (numpy numbers are converted; NaN and infinities become null, with a warning).
- `ctx.set_scalar(NAME, value)`: writes a scalar output that is not a metric.
- `ctx.run_id`, `ctx.task`, `ctx.attempt`, `ctx.work_dir`: from Lathe's environment (None when the
  script runs by hand).

The same command line works by hand, outside Lathe, with any paths: a `--param` value that is
not valid JSON is taken as a string. Standard library only; `read_table` needs pandas.
"""

import json
import math
import os
import sys

__all__ = ["LatheStepError", "StepContext", "context"]

_OPTIONS = ("--input", "--inputs", "--output", "--scalar", "--param", "--param-str")


class LatheStepError(Exception):
    """A misuse of the convention (unknown name, unreadable input): the message says what to do."""


class _Names(dict):
    """A dict whose missing keys raise an error naming the known ones and the flag that adds one."""

    def __init__(self, kind, flag, values=()):
        super().__init__(values)
        self._kind = kind
        self._flag = flag

    def __missing__(self, key):
        known = ", ".join(sorted(self)) or "none"
        raise LatheStepError(
            f"no {self._kind} named '{key}' (the step has: {known}); "
            f"declare it in the pipeline, or pass {self._flag} {key}=... when running by hand"
        )


def _split(flag, token):
    name, sep, value = token.partition("=")
    if not sep or not name:
        raise LatheStepError(f"{flag} expects NAME=VALUE, got '{token}'")
    return name, value


def _decode_param(value):
    if value == "":
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


class StepContext:
    """What the step gets: input paths, output paths, params; and writers for metrics and scalars."""

    def __init__(self, inputs, outputs, scalars, params, rest):
        self.inputs = inputs
        self.outputs = outputs
        self.scalars = scalars
        self.params = params
        self.args = rest
        self.run_id = os.environ.get("LATHE_RUN_ID")
        self.task = os.environ.get("LATHE_TASK")
        attempt = os.environ.get("LATHE_ATTEMPT")
        self.attempt = int(attempt) if attempt and attempt.isdigit() else None
        self.work_dir = os.environ.get("LATHE_WORK_DIR")
        self._written = set()

    def write_metrics(self, metrics, output="metrics"):
        """Writes `metrics` (a dict) as the JSON object at outputs[output], and the scalars it names."""
        if not isinstance(metrics, dict):
            raise LatheStepError(f"write_metrics expects a dict, got {type(metrics).__name__}")
        clean = {str(key): _jsonable(value, f"metrics['{key}']") for key, value in metrics.items()}
        _write_json(self.outputs[output], clean)
        for name, path in self.scalars.items():
            if name in clean and name not in self._written:
                _write_json(path, clean[name])
                self._written.add(name)
        return clean

    def set_scalar(self, name, value):
        """Writes the scalar output `name` (any JSON value; Lathe checks it against its schema)."""
        path = self.scalars.get(name)
        if path is None:
            known = ", ".join(sorted(self.scalars)) or "none"
            raise LatheStepError(f"no scalar output named '{name}' (the step has: {known})")
        _write_json(path, _jsonable(value, f"scalar '{name}'"))
        self._written.add(name)

    def log_metric(self, name, value, step=None):
        """Records a metric point for the run's tracking (append-only; `step` orders a series)."""
        entry = {"metric": str(name), "value": _jsonable(value, f"metric '{name}'")}
        if entry["value"] is None:
            return  # _jsonable warned: NaN and infinities are not recorded
        if step is not None:
            entry["step"] = int(step)
        self._track(entry)

    def log_param(self, name, value):
        """Records a param of the run (immutable: another value for the same name fails the task)."""
        self._track({"param": str(name), "value": _jsonable(value, f"param '{name}'")})

    def set_tag(self, name, value):
        """Sets a tag of the run."""
        self._track({"tag": str(name), "value": str(value)})

    def _track(self, entry):
        path = os.environ.get("LATHE_TRACKING_FILE")
        if not path:
            return  # run by hand, outside Lathe: nothing records it
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, allow_nan=False) + "\n")

    def read_table(self, name, **options):
        """The Dataset input `name` as a pandas DataFrame: CSV, or Parquet if pyarrow or fastparquet
        is installed. Extra keyword arguments go to pandas.read_csv / read_parquet."""
        path = self.inputs[name]
        if path is None:
            raise LatheStepError(f"input '{name}' was not given (it is optional)")
        if isinstance(path, list):
            raise LatheStepError(f"input '{name}' is a list of {len(path)} artifacts; read each path")
        try:
            import pandas
        except ImportError as error:
            raise LatheStepError(
                f"read_table needs pandas, which {sys.executable} cannot import ({error}); "
                "Debian: apt-get install -y python3-pandas"
            ) from None
        if _is_parquet(path):
            try:
                return pandas.read_parquet(path, **options)
            except ImportError:
                raise LatheStepError(
                    f"input '{name}' is a Parquet file and {sys.executable} cannot read Parquet "
                    "(pandas needs pyarrow or fastparquet, and neither is installed). Convert the "
                    "Dataset to CSV in the pipeline first: toCsv from lathe/ml, e.g. "
                    "train({ data: toCsv({ dataset: split.outputs.train }).outputs.csv })"
                ) from None
        return pandas.read_csv(path, **options)


def _is_parquet(path):
    if os.path.isdir(path):
        return False
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _jsonable(value, where):
    """Plain JSON types from numpy scalars and arrays; NaN and infinities become None."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalars and arrays, pandas arrays
    if isinstance(value, float) and not math.isfinite(value):
        print(f"lathe_step: warning: {where} is {value}; JSON has no such number, writing null", file=sys.stderr)
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}['{k}']") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise LatheStepError(f"{where}: {type(value).__name__} is not a JSON value")


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, allow_nan=False)
        handle.write("\n")


def context(argv=None):
    """Parses the convention from `argv` (default: sys.argv[1:]). Arguments it does not know are
    kept, in order, in `ctx.args`."""
    tokens = list(sys.argv[1:] if argv is None else argv)
    inputs = _Names("input", "--input")
    outputs = _Names("output", "--output")
    scalars = _Names("scalar output", "--scalar")
    params = _Names("param", "--param")
    rest = []
    i = 0
    while i < len(tokens):
        flag = tokens[i]
        if flag not in _OPTIONS:
            rest.append(flag)
            i += 1
            continue
        if i + 1 >= len(tokens):
            raise LatheStepError(f"{flag} expects a value")
        if flag == "--inputs":
            # A list input: a name, then its paths up to the next option.
            name = tokens[i + 1]
            i += 2
            paths = []
            while i < len(tokens) and tokens[i] not in _OPTIONS:
                paths.append(tokens[i])
                i += 1
            inputs[name] = paths
            continue
        name, value = _split(flag, tokens[i + 1])
        i += 2
        if flag == "--input":
            inputs[name] = value or None
        elif flag == "--output":
            outputs[name] = value
        elif flag == "--scalar":
            scalars[name] = value
        elif flag == "--param":
            params[name] = _decode_param(value)
        else:
            params[name] = value if value != "" else None
    return StepContext(inputs, outputs, scalars, params, rest)
