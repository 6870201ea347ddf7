#!/usr/bin/env bash
# Writes the sample movie (movies/movie_1) into DIR with ffmpeg: a multivariant
# playlist with two H.264 video renditions and an alternate AAC audio
# rendition, 4 seconds (or SECONDS) in 2-second MPEG-TS segments, as movie 1
# (or MOVIE).
#   scripts/make-sample.sh DIR [SECONDS [MOVIE]]
# The copy in tests/fixtures/media was made with it; make demo uses that copy
# when ffmpeg is not installed. The live-player tests make a longer one.
set -euo pipefail
dir=${1:?usage: make-sample.sh DIR [SECONDS [MOVIE]]}
seconds=${2:-4}
movie_id=${3:-1}
[[ "$seconds" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "make-sample: SECONDS must be 1 to 9999" >&2; exit 1; }
[[ "$movie_id" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || { echo "make-sample: MOVIE must be 1 to 64 of A-Z a-z 0-9 _ -" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make-sample: ffmpeg is required (apt-get install ffmpeg)" >&2; exit 1; }
movie="$dir/movies/movie_$movie_id"
rm -rf "$movie"
mkdir -p "$movie/v0" "$movie/v1" "$movie/audio/en"
common=(-hide_banner -loglevel error -y)
hls=(-f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename)

video() { # folder size bitrate
  ffmpeg "${common[@]}" -f lavfi -i "testsrc2=size=$2:rate=25:duration=$seconds" \
    -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -b:v "$3" -maxrate "$3" -bufsize "$3" \
    -g 50 -keyint_min 50 -sc_threshold 0 -an \
    "${hls[@]}" "$movie/$1/seg_%03d.ts" "$movie/$1/index.m3u8"
}
video v0 320x180 150k
video v1 480x270 300k
ffmpeg "${common[@]}" -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$seconds" \
  -c:a aac -b:a 64k -ac 2 "${hls[@]}" "$movie/audio/en/seg_%03d.ts" "$movie/audio/en/index.m3u8"

cat > "$movie/index.m3u8" <<'M3U8'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="en",NAME="English",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2",URI="audio/en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=260000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=320x180,FRAME-RATE=25.000,AUDIO="aac"
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=420000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=480x270,FRAME-RATE=25.000,AUDIO="aac"
v1/index.m3u8
M3U8
echo "make-sample: wrote $movie"
