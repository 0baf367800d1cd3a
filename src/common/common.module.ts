import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { LifecycleState } from './lifecycle.state';

/** Adapters every feature shares: the clock and the service's lifecycle state. */
@Global()
@Module({ providers: [Clock, LifecycleState], exports: [Clock, LifecycleState] })
export class CommonModule {}
