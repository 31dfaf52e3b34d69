"""The sans-IO core: frames, codec, Agora enums, limits and state machines.

No gevent, no pykka, no sockets, no clock: a client in another language, or an
alternative transport, can be built on this package alone.
"""
