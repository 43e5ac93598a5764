"""Corrections to moto's core, shared by every service."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

from localaws.services._patching import fail, is_ours, mark, require_params


def cache_module_listing() -> None:
    """moto lists its own package folders (~190 isdir calls) on every request: ~35% of CPU under load.

    The listing never changes while the process runs, so it is read once.
    """
    correction = "list_of_moto_modules cache"
    backends = importlib.import_module("moto.backends")
    original = getattr(backends, "list_of_moto_modules", None)
    if is_ours(original):
        return
    if not inspect.isgeneratorfunction(original):
        raise fail(correction, "moto.backends.list_of_moto_modules is no longer a generator function")
    require_params(correction, original, [])
    modules = tuple(original())
    if not modules:
        raise fail(correction, "the original returned no modules")

    @functools.wraps(original)
    def list_of_moto_modules() -> Iterator[str]:
        # A fresh iterator each call, like the generator it replaces (callers use `in` on the result).
        return iter(modules)

    backends.list_of_moto_modules = mark(list_of_moto_modules)


def cache_region_lists() -> None:
    """moto asks a new boto3 Session for a service's regions when it builds a backend (and EC2 three times at
    import), and every new Session parses botocore's endpoints file again: ~0.25 s a time, ~1 s of every start.

    The answer depends only on botocore's data files, so one Session answers, once per question.
    """
    correction = "region list cache"
    session_cls = importlib.import_module("boto3.session").Session
    original = session_cls.__dict__["get_available_regions"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "service_name", "partition_name", "allow_non_regional"])
    shared = session_cls()

    @functools.cache
    def regions(service_name: str, partition_name: str, allow_non_regional: bool) -> tuple[str, ...]:
        return tuple(original(shared, service_name, partition_name, allow_non_regional))

    @functools.wraps(original)
    def get_available_regions(
        self: object, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        return list(regions(service_name, partition_name, allow_non_regional))

    session_cls.get_available_regions = mark(get_available_regions)


def direct_backend_lookup() -> None:
    """moto looks up a service's backend for an account through a global lock, listing the accounts and asking
    whether its registry of ~150 backend dictionaries contains this one, which compares dictionaries by value:
    on every request and every internal lookup. An account already there is now looked up directly."""
    correction = "backend lookup"
    backend_dict_cls = importlib.import_module("moto.core.base_backend").BackendDict
    original = backend_dict_cls.__dict__["__getitem__"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "account_id"])
    if "_create_account_specific_backend(account_id)" not in inspect.getsource(original):
        raise fail(correction, "BackendDict.__getitem__ no longer creates the account's backend on demand")

    @functools.wraps(original)
    def __getitem__(self: Any, account_id: str) -> Any:
        if dict.__contains__(self, account_id):
            return dict.__getitem__(self, account_id)
        return original(self, account_id)

    backend_dict_cls.__getitem__ = mark(__getitem__)


def cache_action_names() -> None:
    """moto lists a response class's methods with inspect.getmembers on every request to find the action's
    method (~0.3 ms each); a class's methods do not change, so each class is listed once."""
    correction = "action names cache"
    responses = importlib.import_module("moto.core.responses")
    current = getattr(responses, "method_names_from_class", None)
    if is_ours(current):
        return
    require_params(correction, current, ["clazz"])
    cached = functools.lru_cache(maxsize=None)(current)
    responses.method_names_from_class = mark(functools.wraps(current)(lambda clazz: list(cached(clazz))))


def untracked_model_instances() -> None:
    """moto's BaseModel appends every model object it creates to a class-wide list that nothing ever empties: each
    log event, each copy of a DynamoDB item, each execution's snapshot of its state machine. Memory grew by about
    14 KB per order. Only S3's objects are still tracked (its reset disposes of their temporary files through the
    list); the others live as long as moto's backends hold them. moto's /moto-api/data.json lists S3 only then."""
    correction = "untracked model instances"
    base = importlib.import_module("moto.core.common_models").BaseModel
    original = base.__dict__["__new__"]
    if is_ours(getattr(original, "__func__", original)):
        return
    if "cls.instances_tracked.append(instance)" not in inspect.getsource(original):
        raise fail(correction, "BaseModel.__new__ no longer appends to instances_tracked")

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        if cls.__module__.startswith("moto.s3."):
            cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
        return instance

    base.__new__ = staticmethod(mark(__new__))


CORRECTIONS = (
    ("untracked model instances", untracked_model_instances),
    ("list_of_moto_modules cache", cache_module_listing),
    ("region list cache", cache_region_lists),
    ("backend lookup", direct_backend_lookup),
    ("action names cache", cache_action_names),
)
