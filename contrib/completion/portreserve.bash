# bash completion for portreserve(1) and portreserved(8).
# Installed as /usr/share/bash-completion/completions/portreserve (and portreserved, a link to it).

_portreserve()
{
    local cur prev words cword
    _init_completion -n : || return

    local commands="add lookup delete show status run reload check help"
    local daemon_options="--socket --timeout --json --help"
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --) [[ $command == run ]] && { _command_offset $((i + 1)); return; } ;;
            --socket | --timeout | --protocol | --start | --count | --allow-user | --allow-group | \
                --tcp | --udp | --tcp-at | --udp-at | --listen | --config-dir) ((i++)) ;;
            -*) ;;
            *) [[ -z $command ]] && command=${words[i]} ;;
        esac
    done

    case $prev in
        --socket) _filedir sock; return ;;
        --config-dir) _filedir -d; return ;;
        --protocol) COMPREPLY=($(compgen -W "tcp udp" -- "$cur")); return ;;
        --allow-user) COMPREPLY=($(compgen -u -- "$cur")); return ;;
        --allow-group) COMPREPLY=($(compgen -g -- "$cur")); return ;;
        --timeout | --start | --count | --tcp | --udp | --tcp-at | --udp-at) return ;;
        --listen) [[ $cur == *:* ]] || COMPREPLY=($(compgen -W "tcp: udp:" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
    esac

    local options
    case $command in
        "") options="$daemon_options --version" ;;
        add) options="--protocol --start --count --allow-user --allow-group $daemon_options" ;;
        lookup | delete) options="--protocol --start --count $daemon_options" ;;
        show) options="--protocol $daemon_options" ;;
        status | reload) options="$daemon_options" ;;
        run) options="--tcp --udp --tcp-at --udp-at --listen -- $daemon_options" ;;
        check) options="--config-dir --json --help" ;;
        help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
    esac

    if [[ -z $command && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    elif [[ $command == check && $cur != -* ]]; then
        _filedir conf
    else
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    fi
} &&
    complete -F _portreserve portreserve

_portreserved()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        --kernel-sync | --exclusive-binds) COMPREPLY=($(compgen -W "auto on off" -- "$cur")); return ;;
        --log-level) COMPREPLY=($(compgen -W "trace debug information warning error critical none" -- "$cur")); return ;;
        --socket | --metrics-listen | --portserver-address) _filedir; return ;;
        --state-dir | --config-dir | --bpf-dir) _filedir -d; return ;;
        --admin-group) COMPREPLY=($(compgen -g -- "$cur")); return ;;
        --wildcard-range | --restart-grace | --max-*) return ;;
    esac

    COMPREPLY=($(compgen -W "--socket --state-dir --kernel-sync --exclusive-binds --admin-group --wildcard-range
        --portserver-address --metrics-listen --max-runtime-ports-per-uid --max-runtime-reservations-per-uid
        --max-connections --max-connections-per-uid --config-dir --log-level --bpf-dir --restart-grace
        --release-kernel --help --version" -- "$cur"))
} &&
    complete -F _portreserved portreserved
