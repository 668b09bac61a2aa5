# pixelpost: one static binary on a distroless base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pixelpost ./server/cmd/pixelpost

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pixelpost /usr/local/bin/pixelpost
VOLUME ["/data"]
ENV PIXELPOST_DATA_DIR=/data PIXELPOST_LISTEN=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/pixelpost"]
