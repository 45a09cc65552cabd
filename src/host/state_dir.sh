wsd_sd_why=
for wsd_p in WSD_STATE_CHAIN; do
  if [ -L "$wsd_p" ]; then wsd_sd_why="$wsd_p is a symbolic link"
  elif [ ! -e "$wsd_p" ]; then break
  elif [ ! -d "$wsd_p" ]; then wsd_sd_why="$wsd_p is not a directory"
  else
    wsd_m=$(stat -c '%u %a' -- "$wsd_p") || wsd_m='? 0'
    wsd_o=${wsd_m% *}; wsd_m=${wsd_m#* }
    if [ "$wsd_o" != 0 ] && [ ! -O "$wsd_p" ]; then wsd_sd_why="$wsd_p is owned by uid $wsd_o, neither root nor the user the run runs as (uid $(id -u))"
    elif [ $((0$wsd_m & 18)) = 0 ]; then :
    elif [ "$wsd_p" = WSD_STATE_DIR ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m)"
    elif [ $((0$wsd_m & 512)) = 0 ] || [ "$wsd_o" != 0 ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m) without being root's and sticky"
    fi
  fi
  [ -z "$wsd_sd_why" ] || { printf 'WSD_MARKER %s\n' "$wsd_sd_why" >&2; exit WSD_EXIT; }
done
