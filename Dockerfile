# The adapter image: nothing but the static binary at /lambda-adapter, the
# same path as upstream's image, so an image that did
#   COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 /lambda-adapter /opt/extensions/lambda-adapter
# does the same with this image's name instead. Build it once per architecture
# (or both at once with buildx) from the repository root and push it to your
# own registry; README.md, "The adapter image", has the commands.
#
#   docker build -t lambda-adapter:latest .                        from source (default target)
#   docker build --target prebuilt -t lambda-adapter:latest .      from target/dist/x86_64/lambda-adapter,
#                                                                  made on the host by scripts/build-static.sh
#                                                                  (--build-arg ADAPTER_ARCH=arm64 for Graviton)

# Stage 1 (with --target prebuilt only): a binary scripts/build-static.sh made
# on the host; scripts/container-e2e.sh builds the image this way.
FROM scratch AS prebuilt
ARG ADAPTER_ARCH=x86_64
COPY target/dist/${ADAPTER_ARCH}/lambda-adapter /lambda-adapter

# Stage 2: both static binaries, built once on the build machine's own
# architecture (cross-compiling the other) by scripts/build-static.sh, which
# installs its pinned nightly and the arm64 cross linker itself.
FROM --platform=$BUILDPLATFORM public.ecr.aws/docker/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/build-static.sh --no-check \
    && mkdir -p /out/amd64 /out/arm64 \
    && cp target/dist/x86_64/lambda-adapter /out/amd64/ \
    && cp target/dist/arm64/lambda-adapter /out/arm64/

# Stage 3 (the default): the binary for the image's platform
# (--platform linux/amd64 or linux/arm64; TARGETARCH is set by the builder).
FROM scratch
ARG TARGETARCH
COPY --from=build /out/${TARGETARCH}/lambda-adapter /lambda-adapter
