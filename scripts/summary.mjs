// Printed last by `npm test`, once every task before it has passed: turbo's own output is the
// detail, this line is the verdict in the plain form CI reads.
console.log("npm test: lint, typecheck and every package's tests passed");
