# TensorFlow's guide "Basic training loops" (tensorflow.org/guide/basic_training_loops),
# its code in order with only the import changed. The noise is random, so the
# weights and losses printed are written … in the .expected file; after each
# training the script checks them against the same gradient descent in NumPy.
# Cut: the matplotlib plots. Changed: Keras 3 (TensorFlow 2.16 on) saves
# weights only to a name ending in ".weights.h5" (the guide's "my_checkpoint"
# raises ValueError there); the file goes to a temporary directory.
import os
import tempfile

import numpy as np

import s2sgrad.tf as tf

# The actual line
TRUE_W = 3.0
TRUE_B = 2.0

NUM_EXAMPLES = 201

# A vector of random x values
x = tf.linspace(-2,2, NUM_EXAMPLES)
x = tf.cast(x, tf.float32)

def f(x):
  return x * TRUE_W + TRUE_B

# Generate some noise
noise = tf.random.normal(shape=[NUM_EXAMPLES])

# Calculate y
y = f(x) + noise


class MyModel(tf.Module):
  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # Initialize the weights to `5.0` and the bias to `0.0`
    # In practice, these should be randomly initialized
    self.w = tf.Variable(5.0)
    self.b = tf.Variable(0.0)

  def __call__(self, x):
    return self.w * x + self.b

model = MyModel()

# List the variables tf.modules's built-in variable aggregation.
print("Variables:", model.variables)

# Verify the model works
assert model(3.0).numpy() == 15.0

# This computes a single loss value for an entire batch
def loss(target_y, predicted_y):
  return tf.reduce_mean(tf.square(target_y - predicted_y))

print("Current loss: %1.6f" % loss(y, model(x)).numpy())

# Given a callable model, inputs, outputs, and a learning rate...
def train(model, x, y, learning_rate):

  with tf.GradientTape() as t:
    # Trainable variables are automatically tracked by GradientTape
    current_loss = loss(y, model(x))

  # Use GradientTape to calculate the gradients with respect to W and b
  dw, db = t.gradient(current_loss, [model.w, model.b])

  # Subtract the gradient scaled by the learning rate
  model.w.assign_sub(learning_rate * dw)
  model.b.assign_sub(learning_rate * db)

model = MyModel()

# Collect the history of W-values and b-values to plot later
weights = []
biases = []
epochs = range(10)

# Define a training loop
def report(model, loss):
  return f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}, loss={current_loss:2.5f}"


def training_loop(model, x, y):

  for epoch in epochs:
    # Update the model with the single giant batch
    train(model, x, y, learning_rate=0.1)

    # Track this before I update
    weights.append(model.w.numpy())
    biases.append(model.b.numpy())
    current_loss = loss(y, model(x))

    print(f"Epoch {epoch:2d}:")
    print("    ", report(model, current_loss))

current_loss = loss(y, model(x))

print(f"Starting:")
print("    ", report(model, current_loss))

training_loop(model, x, y)


# (check: the same descent in NumPy, float64: loss = mean((y - w x - b)^2))
def descent(steps):
  xs, ys = x.numpy().astype(np.float64), y.numpy().astype(np.float64)
  w, b, path = 5.0, 0.0, []
  for _ in range(steps):
    r = ys - (w * xs + b)
    w, b = w + 0.1 * 2 * np.mean(r * xs), b + 0.1 * 2 * np.mean(r)
    path.append((w, b))
  return path

np.testing.assert_allclose(np.array([weights, biases]).T, descent(10), rtol=1e-5, atol=1e-5)
assert abs(float(current_loss) - np.mean((y.numpy() - 5.0 * x.numpy()) ** 2)) < 1e-4

print("Current loss: %1.6f" % loss(model(x), y).numpy())


class MyModelKeras(tf.keras.Model):
  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # Initialize the weights to `5.0` and the bias to `0.0`
    # In practice, these should be randomly initialized
    self.w = tf.Variable(5.0)
    self.b = tf.Variable(0.0)

  def call(self, x):
    return self.w * x + self.b

keras_model = MyModelKeras()

# Reuse the training loop with a Keras model
training_loop(keras_model, x, y)

# You can also save a checkpoint using Keras's built-in support
os.chdir(tempfile.mkdtemp())
keras_model.save_weights("my_checkpoint.weights.h5")

keras_model = MyModelKeras()

# compile sets the training parameters
keras_model.compile(
    # By default, fit() uses tf.function().  You can
    # turn that off for debugging, but it is on now.
    run_eagerly=False,

    # Using a built-in optimizer, configuring as an object
    optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),

    # Keras comes with built-in MSE error
    # However, you could use the loss function
    # defined above
    loss=tf.keras.losses.mean_squared_error,
)

print(x.shape[0])
keras_model.fit(x, y, epochs=10, batch_size=1000)

# (check: fit took the same ten steps of the whole batch)
w, b = descent(10)[-1]
np.testing.assert_allclose([keras_model.w.numpy(), keras_model.b.numpy()], [w, b], rtol=1e-5)
