"""RtmService's log settings and ``set_parameters`` (a mixin of ``RtmService``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rtm_actors.client import messages as cm
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.parameters import parse_parameters
from rtm_actors.client.sdk_log import ParameterErr, SdkLog

if TYPE_CHECKING:
    import pykka

    from rtm_actors.client.service_actor import RtmServiceActor
    from rtm_actors.client.supervisor import ConnectionSupervisor


class SettingsMethods:
    """Agora's log file, filter and size, and ``set_parameters``."""

    _actor: pykka.ActorRef[RtmServiceActor] | None
    _config: ClientConfig
    _log: Any
    _sdk_log: SdkLog
    _url: str | None
    _supervisor: pykka.ActorRef[ConnectionSupervisor] | None

    # -- logs and parameters ---------------------------------------------------------

    def set_log_file(self, path: str) -> int:
        """Agora's ``setLogFile``: this service's lines go to ``path`` as JSON lines.

        The directory must exist; the file is created (or appended to). Two files
        rotate: ``path`` and ``path.1``, each up to ``set_log_file_size``. Until a file
        is set, lines go to the process's structlog set-up.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2) for a bad path or a missing
            directory, ``ParameterErr.FAILED`` (-1) if the file cannot be opened.
        """
        return self._log_setting("log_file", self._sdk_log.set_file, path)

    def set_log_filter(self, log_filter: Any) -> int:
        """Agora's ``setLogFilter``: a ``LogFilter`` (``OFF`` writes nothing; ``INFO``
        is the default; ``MASK`` adds debug lines), or any 16-bit Agora mask.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2).
        """
        return self._log_setting("log_filter", self._sdk_log.set_filter, log_filter)

    def set_log_file_size(self, size_kb: int) -> int:
        """Agora's ``setLogFileSize``: each of the two files' size in KB, in
        [512, 1048576] (1 GB); 10240 (10 MB) by default.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2) outside the range.
        """
        return self._log_setting("log_file_size", self._sdk_log.set_size, size_kb)

    def _log_setting(self, name: str, setter: Callable[[Any], ParameterErr], value: Any) -> int:
        code = setter(value)
        if code is not ParameterErr.OK:
            self._log.warning("log_setting_refused", setting=name, value=repr(value)[:200])
        else:
            self._log.info("log_setting_changed", setting=name, value=value)
        return code

    def set_parameters(self, json_text: str) -> int:
        """Agora's ``setParameters``: set several options from a JSON object.

        The keys are in ``rtm_actors.client.parameters.KEYS`` and ``docs/operations.md``.
        Nothing is applied unless every key is known and every value valid. Timings
        and the server URL take effect at their next use (the next login, reconnect
        or request): set them before ``login``.

        Returns:
            0; ``ParameterErr.NOT_SUPPORTED`` (-4) for an unknown key;
            ``ParameterErr.INVALID_ARGUMENT`` (-2) for bad JSON or a bad value;
            ``ParameterErr.FAILED`` (-1) if the log file cannot be opened.
        """
        params = parse_parameters(json_text, self._config, self._sdk_log)
        for problem in params.problems:
            self._log.warning(
                "parameter_refused",
                key=problem.key[:100],
                detail=problem.detail[:300],
                code=problem.code.name,
            )
        if params.problems:
            return params.code
        log = params.log
        # The file first: it is the one setting that can still fail.
        for name, setter in (
            ("file", self._sdk_log.set_file),
            ("size", self._sdk_log.set_size),
            ("filter", self._sdk_log.set_filter),
        ):
            if name in log and (code := setter(log[name])) is not ParameterErr.OK:
                self._log.warning("parameter_refused", key=f"rtm.log_{name}", code=code.name)
                return code
        self._config = params.config
        self._url = params.server_url or self._url
        if self._actor is not None and self._supervisor is not None:
            change = cm.Reconfigure(params.config, params.server_url)
            self._actor.tell(change)
            self._supervisor.tell(change)
        self._log.info("parameters_set", text=str(json_text)[:500])
        return ParameterErr.OK
