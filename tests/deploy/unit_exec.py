#!/usr/bin/python3
"""Runs a systemd unit's ExecStart= the way systemd would, without systemd.

  unit_exec.py --unit=aia-worker.service [--env_file=F] [--map=FROM=TO ...]
               [--user=NAME] [--print]

Reads the unit's EnvironmentFile= (or --env_file instead: same NAME=VALUE lines),
expands ExecStart= as systemd does ("${NAME}" inside a word is replaced by the
value; a word that is exactly "$NAME" becomes the value split at whitespace, none
when empty), rewrites every path prefix FROM in the arguments to TO (e.g.
/usr/bin=bazel-bin/worker: the binary Bazel built; /var/lib/aia=/tmp/x), drops to
--user (uid and gid, as User= would), and execs the command (same pid, same
environment plus the env file's variables). --print prints the argv instead.
"""
import argparse
import os
import pwd
import re
import shlex
import sys


def parse_unit(path):
    service = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                service.setdefault(key.strip(), []).append(value.strip())
    return service


def parse_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            key, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def expand(exec_start, env):
    argv = []
    for word in shlex.split(exec_start):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            argv.extend(env.get(whole.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda m: env.get(m.group(1), ""), word))
    return argv


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unit", required=True)
    parser.add_argument("--env_file")
    parser.add_argument("--map", action="append", default=[])
    parser.add_argument("--user")
    parser.add_argument("--print", action="store_true")
    args = parser.parse_args()
    service = parse_unit(args.unit)
    if len(service.get("ExecStart", [])) != 1:
        sys.exit(f"unit_exec: {args.unit}: expected one ExecStart=")
    env_file = args.env_file or service["EnvironmentFile"][0].lstrip("-")
    env = parse_env(env_file)
    argv = expand(service["ExecStart"][0], env)
    maps = [m.split("=", 1) for m in args.map]
    mapped = []
    for a in argv:
        for frm, to in maps:
            a = re.sub(r"(^|=)" + re.escape(frm) + r"(?=/|$)", lambda m: m.group(1) + to, a)
        mapped.append(a)
    if args.print:
        print(shlex.join(mapped))
        return
    os.environ.update(env)
    if args.user:
        user = pwd.getpwnam(args.user)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    os.execv(mapped[0], mapped)


if __name__ == "__main__":
    main()
