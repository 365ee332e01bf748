// electron-builder beforeBuild hook (see native-abi.cjs).
'use strict';
module.exports = require('./native-abi.cjs').beforeBuild;
