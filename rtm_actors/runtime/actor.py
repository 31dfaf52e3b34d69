"""pykka actors on greenlets, through pykka's three implementor hooks.

pykka dropped its gevent actor in 3.0. ``GeventActor`` brings it back without monkey
patching: an inbox of our own (``_create_actor_inbox``), an ``AsyncResult``-backed
future (``_create_future``) and a greenlet loop (``_start_actor_loop``). The hooks are
internal to pykka, so pykka is pinned below 5 and ``tests/unit/test_runtime_contract.py``
fails loudly if they change.

On top of the hooks it handles pykka's pitfalls (see RUNTIME-NOTES.md):

* registration goes to our dict ``registry``, not pykka's list;
* a ``BaseException`` (``gevent.Timeout``, ``GreenletExit``) raised in a handler stops
  that actor only, never every actor of the process;
* ``tell`` from another OS thread is handed to the hub with
  ``run_callback_threadsafe``, so it is delivered without anything else waking the hub;
* a crash is reported to the actor's supervisor, if it has one.

And it adds one thing pykka does not have: *inline turns*. A message whose type an actor
lists in ``inline_messages`` (or a subclass of one in ``inline_bases``), told
(``tell_or_run_inline``) while that actor is idle, is handled at once in the teller's greenlet
instead of waking the actor's own. The actor rules hold: one message at a time (a turn
that yields keeps the actor busy, and its own loop waits for it), in the order told
(only when nothing waits in the inbox). What it saves is the greenlet switch, about 5
us, which on the peer-message path (four messages per message) was most of what the
runtime cost on top of the socket. Such an actor starts its greenlet only when a message
first has to wait in its inbox. ``ask_or_run_inline`` is the same for an ask whose
caller may block (a facade): the answer comes from a turn run in the asker's greenlet.

And *retired loops*: an actor's loop greenlet that has run no turn for a whole
``IDLE_LOOP_SECONDS`` ends (``LoopRetirer``), and the next message put in its inbox
starts a new one. A parked greenlet keeps its saved stack, its frame and the last
message it handled, ~4-5 KiB; most actors of a big process (each simulated user's,
each idle session's) sit idle most of the time. Ending a loop at once when its inbox
empties would cost more than it saves: starting a greenlet is ~12 us, waking a parked
one ~2 us, and a busy actor wakes many times a second.
"""

from __future__ import annotations

import collections
import os
import queue
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import gevent
import gevent.event
import gevent.hub
import gevent.monkey
import pykka
import pykka.messages
import structlog
from gevent import getcurrent
from pykka._envelope import Envelope

from rtm_actors.runtime.messages import ChildExited
from rtm_actors.runtime.refs import MessageT, Ref
from rtm_actors.runtime.registry import registry

T = TypeVar("T")

# The real thread id even where threading is monkey-patched (there it names greenlets).
_get_ident = gevent.monkey.get_original("_thread", "get_ident")

log = structlog.get_logger("rtm_actors.runtime")

#: pykka's own messages (stop, proxy calls): ``_handle_receive`` takes those; every
#: other message goes straight to ``on_receive``.
_PYKKA_MESSAGES = frozenset(
    {
        pykka.messages._ActorStop,
        pykka.messages.ProxyCall,
        pykka.messages.ProxyGetAttr,
        pykka.messages.ProxySetAttr,
    }
)


class GeventFuture(pykka.Future[T], Generic[T]):
    """A pykka ``Future`` backed by ``gevent.event.AsyncResult``: waiting yields."""

    def __init__(self) -> None:
        super().__init__()
        self._result: gevent.event.AsyncResult[Any] = gevent.event.AsyncResult()

    def get(self, *, timeout: float | None = None) -> Any:
        """Wait for the value (yielding to other greenlets); raise ``pykka.Timeout``."""
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        try:
            return self._result.get(timeout=timeout)
        except gevent.Timeout:
            msg = f"{timeout} seconds"
            raise pykka.Timeout(msg) from None

    def set(self, value: Any | None = None) -> None:
        """Resolve with ``value``; a second set raises ``queue.Full`` as pykka's does."""
        if self._result.ready() or self._get_hook is not None:
            raise queue.Full
        self._result.set(value)

    def set_exception(
        self,
        exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
        | None = None,
    ) -> None:
        """Fail with the exception in ``exc_info`` (default: the one being handled)."""
        if self._result.ready() or self._get_hook is not None:
            raise queue.Full
        info = exc_info if exc_info is not None else sys.exc_info()
        exc = info[1] if info[1] is not None else (info[0]() if info[0] else RuntimeError())
        self._result.set_exception(exc, exc_info=(type(exc), exc, info[2]))

    def done(self) -> bool:
        """Whether a value or an exception is set."""
        return bool(self._result.ready())


class GeventInbox:
    """An actor's unbounded inbox; accepts items from other OS threads too.

    Its own, not a gevent queue: only the actor's loop greenlet ever waits on it, so it
    keeps one waiter instead of a queue's two deques of them, and makes its item deque
    at the first put (a gevent queue was ~1.9 KiB per actor, most actors' inboxes are
    empty nearly always). Waking the waiting loop takes one hub callback, as a gevent
    queue's does."""

    __slots__ = ("_items", "_waiter", "hub", "start_reader", "thread_id")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        #: The loop greenlet's waiter while it waits for an item.
        self._waiter: gevent.hub.Waiter[Any] | None = None
        self.hub = gevent.get_hub()
        #: The OS thread of the hub the actor lives on.
        self.thread_id = _get_ident()
        #: Called (once) when the next item is put: starts the greenlet that reads.
        self.start_reader: Callable[[], None] | None = None

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Enqueue; from a foreign thread, hand the item to the hub's loop instead."""
        if _get_ident() == self.thread_id:
            self._put_here(item)
        else:
            self.hub.loop.run_callback_threadsafe(self._put_here, item)

    def _put_here(self, item: Any) -> None:
        items = self._items
        if items is None:
            items = self._items = collections.deque()
        items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self.hub.loop.run_callback(waiter.switch, None)
        start_reader = self.start_reader
        if start_reader is not None:
            self.start_reader = None
            start_reader()

    def get(self) -> Any:
        """The next item, waiting (yielding) until there is one."""
        items = self._items
        while not items:
            waiter = self._waiter = gevent.hub.Waiter()
            try:
                waiter.get()
            finally:
                if self._waiter is waiter:  # (woken otherwise: a kill, a timeout)
                    self._waiter = None
            items = self._items
        return items.popleft()

    def qsize(self) -> int:
        """How many items wait."""
        items = self._items
        return len(items) if items is not None else 0

    def empty(self) -> bool:
        """Whether no item waits."""
        return not self._items


def _new_urn() -> str:
    """A random (version 4) UUID's URN, as ``uuid.uuid4().urn`` writes it."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: How deep inline turns nest (A's turn runs B's, which runs C's...) before a tell
#: goes through the inbox after all: bounds the stack, and the time one greenlet
#: spends on others' work.
MAX_INLINE_DEPTH = 4
_inline_depth = [0]  # the current nesting (every actor lives on the hub's thread)

#: Put in an inbox to wake a loop whose actor failed in an inline turn, so it ends.
_WAKE = object()
#: Put in an idle loop's inbox by ``LoopRetirer``: end, unless mail came in behind it.
_RETIRE = Envelope(object())


def tell_or_run_inline(ref: Ref[MessageT], message: MessageT) -> bool:
    """Tell an actor that may have stopped meanwhile; answer whether it was alive.

    Unlike ``ActorRef.tell``, which only queues, this may *run the receiver's turn
    here*, in the caller's greenlet: when the message's type is one the receiver
    lists in ``inline_messages`` (or ``inline_bases``) and the receiver is idle.
    The rules that make that safe:

    * only short, non-blocking handlers are listed (a turn that waits delays the
      caller, never breaks the receiver: it stays busy until the turn ends);
    * an exception in an inline turn fails the *receiver* (as in its own greenlet),
      never the caller, who still sees True: the message was taken;
    * a turn already running, mail waiting, a nesting past ``MAX_INLINE_DEPTH`` or a
      call from the hub itself make it an ordinary queued tell;
    * except a message told back to an actor from within its own inline turn, with no
      mail waiting: it is handled when that turn ends, in the same greenlet (queued,
      it would only wake the actor's loop to handle it next).

    Use it on hot paths where the switch into the receiver's greenlet is the cost;
    use ``ref.tell`` where the caller must not run another actor's code."""
    if type(ref) is pykka.ActorRef:
        # pykka's ``tell`` inlined (the hot path: several tells per message).
        if ref.actor_stopped.is_set():
            return False
        actor_class = ref.actor_class
        kind = type(message)
        if kind in actor_class.inline_messages or issubclass(kind, actor_class.inline_bases):
            actor = ref._actor_weakref()
            if actor is not None and actor._run_inline(message):
                return True
        ref.actor_inbox.put(Envelope(message))
        return True
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        return False
    return True


def ask_or_run_inline(ref: pykka.ActorRef[Any], message: Any, timeout: float | None = None) -> Any:
    """Ask an actor and wait for its answer, running its turn *here* when it may.

    The same rule as ``tell_or_run_inline``: a message of a type the receiver takes
    inline, asked while the receiver is idle, is handled in the caller's greenlet
    (no future, no switch into the receiver's greenlet and back). As with
    ``ActorRef.ask``, an exception in the turn is raised to the caller and the
    receiver goes on; a stopped receiver raises ``pykka.ActorDeadError``. Only
    callers that may block on the answer use it: facades, never another actor."""
    if not ref.actor_stopped.is_set():
        actor_class = ref.actor_class
        kind = type(message)
        if kind in actor_class.inline_messages or issubclass(kind, actor_class.inline_bases):
            actor = ref._actor_weakref()
            if actor is not None and actor._idle_here():
                return actor._inline_turn(message, asked=True)
    return ref.ask(message, timeout=timeout)


#: Actors' loop greenlets running now, in the process (for /metrics: counted where they
#: run, as a walk of the garbage collector's objects would stall the server).
LOOP_GREENLETS = [0]

#: A loop greenlet that ran no turn for this long (at most twice as long) ends; its
#: actor's next message starts a new one.
IDLE_LOOP_SECONDS = 1.0


class LoopRetirer:
    """Ends actors' loop greenlets that stayed idle for a sweep interval.

    One loop timer per process (on the hub, never keeping it alive), running only
    while some loop greenlet lives. Each sweep compares each live loop's turn count
    with the last sweep's: an unchanged count, an empty inbox and no turn running
    mean idle, and the loop is told to retire (``_RETIRE``: a retiring loop that
    finds mail behind it goes on). The event loop's own timer, not the runtime's
    clock: retirement changes no behaviour a test could drive, only memory."""

    __slots__ = ("_interval", "_live", "_timer")

    def __init__(self, interval: float = IDLE_LOOP_SECONDS) -> None:
        self._interval = interval
        #: Actors whose loop greenlet runs, with their turn count at the last sweep.
        self._live: dict[GeventActor, int] = {}
        self._timer: Any = None

    def loop_started(self, actor: GeventActor) -> None:
        """``actor``'s loop greenlet began."""
        self._live[actor] = -1
        if self._timer is None:
            timer: Any = gevent.get_hub().loop.timer(self._interval, self._interval)
            self._timer = timer
            timer.ref = False  # a process with only idle loops left may still exit
            timer.start(self._sweep)

    def loop_ended(self, actor: GeventActor) -> None:
        """``actor``'s loop greenlet ended."""
        self._live.pop(actor, None)

    def _sweep(self) -> None:
        live = self._live
        if not live:
            self._timer.close()
            self._timer = None
            return
        for actor, seen in list(live.items()):
            turns = actor._loop_turns
            inbox: Any = actor.actor_inbox  # a GeventInbox
            if turns == seen and not actor._in_turn and not inbox.qsize():
                inbox.put(_RETIRE)
                live[actor] = -1
            else:
                live[actor] = turns


_retirer = LoopRetirer()


class GeventActor(pykka.Actor):
    """Base of every rtm_actors actor: a pykka actor whose loop is a greenlet.

    Subclasses implement ``on_receive`` with ``match`` over typed messages. Set
    ``shutdown_tier`` so that ``registry.shutdown`` stops front actors (sessions)
    before the ones they depend on (channels, services, supervisors).
    """

    shutdown_tier: ClassVar[int] = 0
    supervisor: pykka.ActorRef[Any] | None = None
    #: Message types a teller may handle in its own greenlet while this actor is idle
    #: (see the module's docstring). Their handlers must not assume which greenlet
    #: runs them; one that yields only delays its teller.
    inline_messages: ClassVar[frozenset[type]] = frozenset()
    #: Base classes whose every subclass is taken inline too (a family of requests).
    inline_bases: ClassVar[tuple[type, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # pykka's ``Actor.__init__``, its four fields set here instead: its stop flag
        # is a threading.Event (a Condition, a Lock and a deque, ~1 KB per actor,
        # whose wait() would block the hub), made only to be replaced by a gevent
        # Event, which does the same job here (actors live on the hub's thread); and
        # its URN a ``uuid.uuid4().urn`` (3 us; ``_new_urn`` makes the same in 1 us).
        # A session actor starts at every login: this is 5 us of each.
        self.actor_urn = _new_urn()
        self.actor_inbox = self._create_actor_inbox()
        self.actor_stopped = gevent.event.Event()  # type: ignore[assignment]
        self._actor_ref = pykka.ActorRef(self)
        #: A turn is running: a message is being handled (by the loop or inline).
        self._in_turn = False
        #: Set by the loop when it holds a message but an inline turn is running.
        self._turn_waiter: gevent.event.Event | None = None
        self._set_up = False
        #: Turns run by the loop greenlet (``LoopRetirer`` reads it to spot idle loops).
        self._loop_turns = 0
        #: The greenlet running this actor's inline turn, while one runs.
        self._inline_greenlet: Any = None
        #: Messages told back to this actor from within its inline turn (see
        #: ``_run_inline``), handled when that turn ends; None when there are none.
        self._told_back: list[Any] | None = None

    @staticmethod
    def _create_actor_inbox() -> Any:
        return GeventInbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return GeventFuture()

    def _start_actor_loop(self) -> None:
        self.greenlet = gevent.spawn(self._actor_loop)

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> pykka.ActorRef[Self]:
        """Create and start the actor; it registers in our dict ``registry``."""
        return cls.start_under(None, *args, **kwargs)

    @classmethod
    def start_under(
        cls, supervisor: pykka.ActorRef[Any] | None, *args: Any, **kwargs: Any
    ) -> pykka.ActorRef[Self]:
        """Start the actor as a child of ``supervisor``, which learns of its exit."""
        obj = cls(*args, **kwargs)
        obj.supervisor = supervisor
        registry.add(obj.actor_ref, cls.shutdown_tier)
        if cls.inline_messages or cls.inline_bases or cls.on_start is pykka.Actor.on_start:
            # Its greenlet starts when a message first has to wait in its inbox: one
            # that takes its messages inline may never need one (a login then spawns
            # nothing, an idle user keeps no parked greenlet), nor one with no
            # ``on_start`` to run in it until its first message.
            obj._actor_loop_setup()
            inbox: Any = obj.actor_inbox  # a GeventInbox
            inbox.start_reader = obj._start_actor_loop
        else:
            obj._start_actor_loop()
        return obj.actor_ref

    def _actor_loop_setup(self) -> None:
        # Runs ``on_start`` once: at start, or in the greenlet when it starts.
        if not self._set_up:
            self._set_up = True
            super()._actor_loop_setup()

    def _actor_loop(self) -> None:
        LOOP_GREENLETS[0] += 1
        _retirer.loop_started(self)
        retired = False
        try:
            self._actor_loop_setup()
            retired = self._run_turns()
            if not retired:
                self._actor_loop_teardown()
        finally:
            LOOP_GREENLETS[0] -= 1
            _retirer.loop_ended(self)
            if retired:
                # The next message put in the inbox starts a new loop greenlet.
                inbox: Any = self.actor_inbox  # a GeventInbox
                inbox.start_reader = self._start_actor_loop
            elif not self.actor_stopped.is_set():
                # The greenlet was killed from outside (never do that: stop actors).
                # Leave no zombie that looks alive and registered, nor hung asks.
                registry.remove(self.actor_ref)
                self.actor_stopped.set()
                self._actor_loop_teardown()
                self._tell_supervisor(RuntimeError("actor greenlet was killed"))

    def _run_turns(self) -> bool:
        """Run turns until the actor stops (answer False) or the loop retires (True).

        pykka's loop stops *every* actor on a BaseException; ours stops only this one."""
        inbox: Any = self.actor_inbox  # a GeventInbox
        stopped = self.actor_stopped
        on_receive = self.on_receive
        while not stopped.is_set():
            envelope = inbox.get()
            if envelope is _RETIRE:
                if not inbox.qsize() and not stopped.is_set():
                    return True
                continue
            self._loop_turns += 1
            if self._in_turn:
                # An inline turn yielded (I/O): it hands the turn over when it ends.
                self._turn_waiter = waiter = gevent.event.Event()
                waiter.wait()
            else:
                self._in_turn = True
            if stopped.is_set():
                # An inline turn failed meanwhile: this message, like the rest, is
                # refused by the teardown (an ask gets ActorDeadError).
                inbox.put(envelope)
                break
            message = envelope.message
            try:
                if type(message) in _PYKKA_MESSAGES:
                    response = self._handle_receive(message)
                else:
                    response = on_receive(message)
                if envelope.reply_to is not None:
                    envelope.reply_to.set(response)
            except Exception:  # noqa: BLE001 - the actor boundary: report, never escape
                if envelope.reply_to is not None:
                    envelope.reply_to.set_exception()
                else:
                    self._handle_failure(*sys.exc_info())
                    self._call_on_failure()
            except BaseException as exc:  # gevent.Timeout, GreenletExit, ...
                if envelope.reply_to is not None:
                    envelope.reply_to.set_exception()
                self._handle_failure(*sys.exc_info())
                self._call_on_failure()
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
            self._in_turn = False
            # Parked with nothing of the last turn held (its message may be big).
            envelope = message = response = None
        return False

    def _run_inline(self, message: Any) -> bool:
        """Handle ``message`` now, in the caller's greenlet, if this actor is idle: no
        turn running, nothing waiting in its inbox. Answer whether it did.

        A message told back to this actor from within its own inline turn (its turn
        ran another's inline, which tells it) is kept and handled when that turn ends,
        in the same greenlet: queued, it would wake (or start) this actor's loop
        greenlet, for a message that comes next anyway. Only while nothing waits in
        the inbox, so that what was queued before stays before."""
        if self._idle_here():
            self._inline_turn(message, asked=False)
            return True
        inbox: Any = self.actor_inbox  # a GeventInbox
        if self._inline_greenlet is getcurrent() and not inbox.qsize():
            if self._told_back is None:
                self._told_back = [message]
            else:
                self._told_back.append(message)
            return True
        return False

    def _idle_here(self) -> bool:
        """Whether a turn may run now in the calling greenlet (see ``_run_inline``)."""
        inbox: Any = self.actor_inbox  # a GeventInbox
        return not (
            self._in_turn
            or _inline_depth[0] >= MAX_INLINE_DEPTH
            or inbox.qsize()
            or _get_ident() != inbox.thread_id
            or getcurrent() is inbox.hub  # a hub callback must never block: queue it
        )

    def _inline_turn(self, message: Any, *, asked: bool) -> Any:
        self._in_turn = True
        self._inline_greenlet = getcurrent()
        _inline_depth[0] += 1
        try:
            result = self.on_receive(message)
        except Exception:  # the actor boundary
            if asked:
                raise  # as pykka's ask: the asker gets the error, the actor goes on
            self._fail_inline()  # as a tell: this actor fails, not the caller
            return None
        except BaseException:  # the caller's (a timeout, a kill): this turn is cut short
            self._fail_inline()
            raise
        else:
            if self._told_back is not None:
                self._run_told_back()
            return result
        finally:
            self._inline_greenlet = self._told_back = None
            _inline_depth[0] -= 1
            waiter = self._turn_waiter
            if waiter is None:
                self._in_turn = False
            else:
                # The loop took a message meanwhile: the turn is its now (in order).
                self._turn_waiter = None
                waiter.set()

    def _run_told_back(self) -> None:
        """The messages told back during this inline turn, in order, as tells: one that
        fails fails this actor (and the rest are dropped with it)."""
        told_back = self._told_back or []
        for message in told_back:  # (what these tell back is appended, and runs too)
            if self.actor_stopped.is_set():
                return
            try:
                self.on_receive(message)
            except Exception:  # noqa: BLE001 - the actor boundary: this actor fails
                self._fail_inline()
                return

    def _fail_inline(self) -> None:
        self._handle_failure(*sys.exc_info())
        self._call_on_failure()
        # The loop may be waiting for a message: wake it to end.
        self.actor_inbox.put(Envelope(_WAKE))

    def _call_on_failure(self) -> None:
        try:
            self.on_failure(*sys.exc_info())
        except Exception:
            log.exception("on_failure_raised", actor=str(self))

    def _stop(self) -> None:
        registry.remove(self.actor_ref)
        super()._stop()
        self._tell_supervisor(None)

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        registry.remove(self.actor_ref)
        log.error(
            "actor_crashed",
            actor=str(self),
            exc_info=(exception_type, exception_value, traceback),
        )
        self.actor_stopped.set()
        self._tell_supervisor(exception_value or RuntimeError("unknown failure"))

    def _tell_supervisor(self, error: BaseException | None) -> None:
        if self.supervisor is not None:
            tell_or_run_inline(self.supervisor, ChildExited(self.actor_urn, error))
