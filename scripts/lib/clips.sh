# shellcheck shell=bash
# scripts/lib/clips.sh: makes sample H.264 MP4 clips with real GStreamer encoders (demo, tests, bench).
#
#   clips_from_real SRC OUT WIDTH HEIGHT FRAMES [FLIP]
#       re-encodes the first FRAMES frames of a real clip, scaled to WIDTH x HEIGHT; FLIP is a
#       videoflip method (none, horizontal-flip, vertical-flip, rotate-180) so that clips made from
#       one source still differ.
#   clips_synthetic OUT WIDTH HEIGHT FRAMES SEED
#       a static floor with four blobs ("people") crossing it on wavy paths; SEED (0..) varies
#       their phase and colour.
# Both write OUT atomically (temporary file + rename) and return non-zero with gst-launch-1.0's
# error on stderr.

clips__encode_tail() { # OUT.part
  printf '%s' "x264enc speed-preset=ultrafast key-int-max=50 ! h264parse ! mp4mux ! filesink location=$1"
}

clips_from_real() {
  local src=$1 out=$2 width=$3 height=$4 frames=$5 flip=${6:-none} part
  part="$out.part"
  # shellcheck disable=SC2046  # the encoder tail is split into gst-launch words on purpose
  gst-launch-1.0 -q filesrc location="$src" ! decodebin ! videoconvert ! videoflip method="$flip" \
    ! identity eos-after="$frames" ! videoscale ! "video/x-raw,width=$width,height=$height" \
    ! videoconvert ! $(clips__encode_tail "$part") >/dev/null || { rm -f "$part"; return 1; }
  mv -f "$part" "$out"
}

clips_synthetic() {
  local out=$1 width=$2 height=$3 frames=$4 seed=${5:-0} part caps i colour flip xpos ypos
  local colours=(0xffc08060 0xff5080c0 0xff40a040 0xffd0d0d0 0xff904070 0xffe0c040)
  part="$out.part"
  caps="video/x-raw,format=BGRA,width=$width,height=$height,framerate=25/1"
  local mixer=(compositor name=c background=black)
  local args=(videotestsrc "num-buffers=$frames" pattern=solid-color foreground-color=0xff6e6a60
    ! "video/x-raw,width=$width,height=$height,framerate=25/1" ! c.sink_0)
  for i in 1 2 3 4; do
    # Each blob walks its own lane (ypos), half of them the other way (flip), out of step (xpos).
    colour=${colours[(seed + i) % ${#colours[@]}]}
    flip=none
    if (((seed + i) % 2 == 1)); then flip=horizontal-flip; fi
    xpos=$(((seed * 53 + i * 97) % width - width / 2))
    ypos=$(((seed * 29 + i * height / 5) % (height / 2) - height / 4))
    mixer+=("sink_$i::xpos=$xpos" "sink_$i::ypos=$ypos")
    args+=(videotestsrc "num-buffers=$frames" pattern=ball motion=wavy background-color=0x00000000
      "foreground-color=$colour" ! "$caps" ! videoflip "method=$flip" ! "c.sink_$i")
  done
  gst-launch-1.0 -q "${mixer[@]}" ! "video/x-raw,width=$width,height=$height,framerate=25/1" \
    ! videoconvert ! x264enc speed-preset=ultrafast key-int-max=50 ! h264parse ! mp4mux \
    ! filesink "location=$part" "${args[@]}" >/dev/null || { rm -f "$part"; return 1; }
  mv -f "$part" "$out"
}
