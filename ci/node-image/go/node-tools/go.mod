// Small programs the offline node image needs and no registry can provide.
module podcheck.local/node-image/node-tools

go 1.26
