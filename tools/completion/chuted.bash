# bash completion for chuted. Commands, options and which option takes a
# value come from chuted itself (`chuted __complete`, made from the same
# tables that parse the options), so this file cannot drift from them.
_chuted() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local chuted=${COMP_WORDS[0]} i cmd="" sub="" globals=()
  COMPREPLY=()
  # the command word: the first operand after the global options
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --root | --run-root | --cgroup-parent) globals+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}"); ((i++)) ;;
      --root=* | --run-root=* | --cgroup-parent=*) globals+=("${COMP_WORDS[i]}") ;;
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [ -z "$cmd" ]; then
    case $prev in --root | --run-root) COMPREPLY=($(compgen -d -- "$cur")); return ;; --cgroup-parent) return ;; esac
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "--root --run-root --cgroup-parent --help --version" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$("$chuted" __complete commands 2>/dev/null)" -- "$cur"))
    fi
    return
  fi
  # a value of an option: paths where a path is wanted, else nothing to offer
  local arg
  if [[ $prev == -* ]] && arg=$("$chuted" __complete takes-value "$cmd" "$prev" 2>/dev/null); then
    case $arg in
      DIR | *PATH* | SRC:* | HOST* | FILE | OPT) COMPREPLY=($(compgen -f -- "${cur#seccomp=}")) ;;
      POLICY) COMPREPLY=($(compgen -W "no on-failure always unless-stopped" -- "$cur")) ;;
      MODE) COMPREPLY=($(compgen -W "bridge host none" -- "$cur")) ;;
    esac
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("$chuted" __complete options "$cmd" 2>/dev/null)" -- "$cur"))
    return
  fi
  local ops
  ops=$("$chuted" __complete operands "$cmd" 2>/dev/null)
  # a subcommand (volume rm NAME): its operands are the group's names
  for ((i++; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} == -* ]] || { sub=${COMP_WORDS[i]}; break; }; done
  if [ -n "$sub" ] && [ "$ops" != "@chutes" ] && [ "$ops" != "@images" ]; then
    case $cmd in
      volume) [[ $sub == rm || $sub == inspect ]] && ops=$("$chuted" "${globals[@]}" volume ls -q 2>/dev/null) || ops="" ;;
      chute) ops=$("$chuted" "${globals[@]}" ps -a -q 2>/dev/null) ;;
      *) ops="" ;;
    esac
  elif [ "$ops" = "@chutes" ]; then
    ops=$("$chuted" "${globals[@]}" ps -a -q 2>/dev/null)
  elif [ "$ops" = "@images" ]; then
    [ -n "$sub" ] && return
    ops=$("$chuted" "${globals[@]}" images -q 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$ops" -- "$cur"))
}
complete -F _chuted chuted
